/** Account words and figures shared by the account screens. */
import type { Schemas } from "../api/client";
import { formatMinutes, formatMoney } from "./format";

export const PLAN_NAMES: Record<string, string> = {
  credit_based: "Créditos",
  minutes_based: "Minutos",
  unlimited: "Ilimitado",
};

// Every kind the API knows, typed from its schema: a new kind fails the build until named here.
export const LEDGER_KINDS: Record<Schemas["LedgerEntryKindEnum"], string> = {
  topup: "Recarga",
  reservation: "Reserva de llamada",
  settlement: "Cobro de llamada",
  refund: "Devolución",
  adjustment: "Ajuste",
  retention_summary: "Resumen de movimientos antiguos (retención)",
};

/** The balance that counts for the account's plan. */
export function planBalance(account: Pick<Schemas["Account"], "plan_type" | "balance">): string {
  if (account.plan_type === "minutes_based") return formatMinutes(account.balance.minutes);
  if (account.plan_type === "unlimited") return "Sin límite";
  return formatMoney(account.balance.credits);
}

/** A ledger amount in its unit: pesos for credits, minutes otherwise. */
export function formatUnit(value: number, unit: string): string {
  return unit === "minutes" ? formatMinutes(value) : formatMoney(value);
}
