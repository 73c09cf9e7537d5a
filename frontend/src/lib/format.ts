/** Chilean formats: money in pesos (credits are pesos), numbers with "." thousands, dates in
 * the zone they belong to (the campaign's or the account's), never the browser's by accident. */

const LOCALE = "es-CL";

const money = new Intl.NumberFormat(LOCALE, {
  style: "currency",
  currency: "CLP",
  minimumFractionDigits: 0,
  maximumFractionDigits: 2,
});
const number = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 });

export function formatMoney(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  return money.format(Number(value));
}

export function formatNumber(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  return number.format(Number(value));
}

/** 0.25 → "25 %" */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  return percent.format(ratio);
}

/** Minutes as "12,5 min". */
export function formatMinutes(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  return `${number.format(Number(value))} min`;
}

/** An instant shown in `timeZone` (IANA), e.g. "04-12-2026 14:05 (America/Santiago)". */
export function formatDateTime(
  iso: string | null | undefined,
  timeZone = "America/Santiago",
  withZone = false,
): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const text = new Intl.DateTimeFormat(LOCALE, {
    timeZone,
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(date);
  return withZone ? `${text} (${zoneLabel(timeZone)})` : text;
}

export function formatDate(iso: string | null | undefined, timeZone = "America/Santiago"): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return new Intl.DateTimeFormat(LOCALE, {
    timeZone,
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
  }).format(date);
}

const ZONE_NAMES: Record<string, string> = {
  "America/Santiago": "hora de Santiago",
  "Pacific/Easter": "hora de Isla de Pascua",
  "America/Punta_Arenas": "hora de Punta Arenas",
};

/** "hora de Santiago" for the Chilean zones, the IANA name otherwise. */
export function zoneLabel(timeZone: string): string {
  return ZONE_NAMES[timeZone] ?? timeZone;
}
