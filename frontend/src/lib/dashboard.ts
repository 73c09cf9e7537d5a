/** The dashboard's words and the text summaries of its charts (their accessible alternative). */
import type { Schemas } from "../api/client";
import { formatNumber } from "./format";

export type OutcomeKey = keyof Schemas["OutcomeCounts"];

/** The outcome segments, in the admin chart's order and colours (calls.dashboard.SEGMENTS). */
export const OUTCOMES: { key: OutcomeKey; label: string; colour: string }[] = [
  { key: "contact", label: "Contactado", colour: "#2e7d32" },
  { key: "no_contact", label: "Sin contacto", colour: "#f9a825" },
  { key: "invalid_number", label: "Número inválido", colour: "#6d4c41" },
  { key: "do_not_call", label: "Pidió no ser llamado", colour: "#8e24aa" },
  { key: "provider_error", label: "Error del proveedor", colour: "#c62828" },
  { key: "in_progress", label: "En curso", colour: "#1565c0" },
];

/** "2026-12-04" (a calendar day of the dashboard's zone) → "04-12". */
export function dayLabel(date: string): string {
  const [, month, day] = date.split("-");
  return day && month ? `${day}-${month}` : date;
}

export function callsPerDaySummary(days: Schemas["DayCalls"][]): string {
  if (days.length === 0) return "Llamadas por día: sin datos.";
  const total = days.reduce((sum, d) => sum + d.calls, 0);
  const top = days.reduce((best, d) => (d.calls > best.calls ? d : best), days[0]);
  const last = days[days.length - 1];
  return (
    `Llamadas por día, últimos ${days.length} días (${dayLabel(days[0].date)} a ${dayLabel(last.date)}): ` +
    `${formatNumber(total)} en total; hoy ${formatNumber(last.calls)}` +
    (top.calls > 0 ? `; el día con más llamadas fue el ${dayLabel(top.date)} con ${formatNumber(top.calls)}.` : ".")
  );
}

export function outcomesSummary(campaigns: Schemas["CampaignOutcomes"][]): string {
  if (campaigns.length === 0) return "Resultados por campaña: no hay campañas abiertas ni recientes.";
  const totals = totalsByOutcome(campaigns);
  const all = Object.values(totals).reduce((a, b) => a + b, 0);
  const parts = OUTCOMES.filter((o) => totals[o.key] > 0).map((o) => `${o.label} ${formatNumber(totals[o.key])}`);
  return (
    `Resultados de ${formatNumber(all)} intentos en ${campaigns.length} ` +
    `${campaigns.length === 1 ? "campaña" : "campañas"}` +
    (parts.length ? `: ${parts.join(", ")}.` : ".")
  );
}

export function totalsByOutcome(campaigns: Schemas["CampaignOutcomes"][]): Record<OutcomeKey, number> {
  const totals = Object.fromEntries(OUTCOMES.map((o) => [o.key, 0])) as Record<OutcomeKey, number>;
  for (const campaign of campaigns) {
    for (const o of OUTCOMES) totals[o.key] += campaign.counts[o.key] ?? 0;
  }
  return totals;
}
