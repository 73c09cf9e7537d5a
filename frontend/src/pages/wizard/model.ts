/**
 * The campaign wizard's model, free of React: its state and defaults, the zod schemas of each
 * step (mirroring GET /options and the server's rules), the script's {{variables}} check
 * (batches/script.py), the sentence that says when calls happen, the cost estimate, the
 * server-error → step/field mapping and the request bodies.
 */
import { z } from "zod";
import type { Schemas } from "../../api/client";
import { formatMoney, formatNumber, zoneLabel } from "../../lib/format";

export type Options = Schemas["Options"];
export type Profile = Schemas["ComplianceProfile"];
export type Preview = Schemas["ExcelPreviewResponse"];
export type RowIssue = Schemas["RowIssue"];

export const STEPS = [
  { id: "basics", label: "Información básica" },
  { id: "contacts", label: "Contactos" },
  { id: "calls", label: "Llamadas" },
  { id: "voice", label: "Voz" },
  { id: "schedule", label: "Programación y revisión" },
] as const;
export type StepIndex = 0 | 1 | 2 | 3 | 4;

/** Field errors by dotted name ("call_settings.allowed_hours.start", "contacts[3].rut"). */
export type FieldErrors = Record<string, string[]>;

export type ContactRow = { name: string; rut: string; phone: string; debt_amount: string; due_date: string };

export type WizardState = {
  basics: { account_id: string; name: string; description: string; script_content: string };
  contacts: {
    mode: "file" | "manual";
    file: File | null;
    /** Header → field as the user set it (null: as detected). */
    mapping: Record<string, string> | null;
    /** The mapping the shown preview was made with (to know when to preview again). */
    previewedMapping: Record<string, string> | null;
    preview: Preview | null;
    rows: ContactRow[];
  };
  call_settings: {
    max_call_duration: number;
    ring_timeout: number;
    max_attempts: number;
    retry_delay_hours: string;
    restrict_hours: boolean;
    start: string;
    end: string;
    days_of_week: number[];
    timezone: string;
  };
  voice: { voice_id: string; speed: number; volume: number; pitch: number; language: string };
  schedule: {
    schedule_type: "immediate" | "scheduled" | "recurring";
    /** datetime-local text ("2026-12-05T10:00"), a wall time in the campaign's zone. */
    scheduled_at: string;
    frequency: "daily" | "weekly" | "monthly";
    interval: number;
    end_date: string;
    max_runs: string;
    priority: "low" | "normal" | "high";
  };
};

export const EMPTY_CONTACT: ContactRow = { name: "", rut: "", phone: "", debt_amount: "", due_date: "" };

export function initialState(accountId: string): WizardState {
  return {
    basics: { account_id: accountId, name: "", description: "", script_content: "" },
    contacts: {
      mode: "file",
      file: null,
      mapping: null,
      previewedMapping: null,
      preview: null,
      rows: [{ ...EMPTY_CONTACT }],
    },
    call_settings: {
      max_call_duration: 600,
      ring_timeout: 60,
      max_attempts: 3,
      retry_delay_hours: "30",
      restrict_hours: true,
      start: "09:00",
      end: "20:00",
      days_of_week: [1, 2, 3, 4, 5, 6],
      timezone: "America/Santiago",
    },
    voice: { voice_id: "", speed: 1, volume: 1, pitch: 0, language: "es-CL" },
    schedule: {
      schedule_type: "immediate",
      scheduled_at: "",
      frequency: "weekly",
      interval: 1,
      end_date: "",
      max_runs: "",
      priority: "normal",
    },
  };
}

/** The call settings' defaults from /options, inside the account's compliance window. */
export function callDefaults(options: Options, profile: Profile | undefined, timezone: string) {
  const limits = options.limits.call_settings;
  const hours = limits.allowed_hours.default ?? profile?.hours ?? { start: "09:00", end: "18:00" };
  const days = limits.days_of_week.default ?? profile?.days_of_week ?? [1, 2, 3, 4, 5];
  const zones = profile?.time_zones ?? [];
  return {
    max_call_duration: limits.max_call_duration.default ?? 600,
    ring_timeout: limits.ring_timeout.default ?? 60,
    max_attempts: limits.max_attempts.default ?? 3,
    retry_delay_hours: String(limits.retry_delay_hours.default),
    restrict_hours: true,
    start: hours.start,
    end: hours.end,
    days_of_week: [...days],
    timezone: zones.length === 0 || zones.includes(timezone) ? timezone : zones[0],
  };
}

// --- script variables (batches/script.py) ---------------------------------------------------

const VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;
/** The frontend's old example scripts say {{name}}: the server takes it as {{nombre}}. */
export const SCRIPT_ALIASES: Record<string, string> = { name: "nombre" };

/** The variable names of `text`, in order of first use (as script_variables). */
export function scriptVariables(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(VARIABLE)) {
    if (!names.includes(match[1])) names.push(match[1]);
  }
  return names;
}

/** The variables of `text` that no call will carry (as script_unknown_variables). */
export function unknownVariables(text: string, known: string[], customColumns: string[] = []): string[] {
  const all = new Set([...known, ...Object.keys(SCRIPT_ALIASES), ...customColumns]);
  return scriptVariables(text).filter((name) => !all.has(name));
}

// --- zod schemas ------------------------------------------------------------------------------

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const DECIMAL = /^\d+(\.\d{1,4})?$/;
export const DAY_NAMES = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
// Regional Spanish the server accepts (sent to Retell as es-419), offered first.
const REGIONAL_SPANISH = ["es-CL", "es-AR", "es-MX", "es-CO", "es-PE"];
const languageNames = (() => {
  try {
    return new Intl.DisplayNames(["es-CL"], { type: "language" });
  } catch {
    return null;
  }
})();

function languageLabel(code: string): string {
  const name = languageNames?.of(code);
  return name && name !== code ? `${name.charAt(0).toUpperCase()}${name.slice(1)} · ${code}` : code;
}

/** The language choices: regional Spanish first, then every language Retell speaks. */
export function languageOptions(voice: Options["voice"]): { value: string; label: string }[] {
  const codes = [...REGIONAL_SPANISH, ...voice.languages.filter((c) => c.startsWith("es")), ...voice.languages];
  return [...new Set(codes)].map((value) => ({ value, label: languageLabel(value) }));
}

export function isRegionalSpanish(code: string): boolean {
  return /^es-[A-Za-z]{2}$/.test(code);
}

export const MAX_NAME = 200;
export const MAX_DESCRIPTION = 2000;
export const MAX_SCRIPT = 10000;

const between = (low: number, high: number) => `Debe estar entre ${formatNumber(low)} y ${formatNumber(high)}.`;

function intIn(low: number, high: number) {
  return z
    .number({ error: "Escribe un número entero." })
    .int({ error: "Escribe un número entero." })
    .min(low, { error: between(low, high) })
    .max(high, { error: between(low, high) });
}

export function basicsSchema(knownVariables: string[], customColumns: string[] | null) {
  return z
    .object({
      account_id: z.string().trim().min(1, { error: "Elige una cuenta." }),
      name: z
        .string()
        .trim()
        .min(1, { error: "Escribe un nombre para la campaña." })
        .max(MAX_NAME, { error: `Máximo ${MAX_NAME} caracteres.` }),
      description: z.string().max(MAX_DESCRIPTION, { error: `Máximo ${formatNumber(MAX_DESCRIPTION)} caracteres.` }),
      script_content: z.string().max(MAX_SCRIPT, { error: `Máximo ${formatNumber(MAX_SCRIPT)} caracteres.` }),
    })
    .superRefine((value, ctx) => {
      // Before the file is read its columns are unknown: an unknown variable is only flagged.
      if (customColumns === null) return;
      const unknown = unknownVariables(value.script_content, knownVariables, customColumns);
      if (unknown.length) {
        ctx.addIssue({
          code: "custom",
          path: ["script_content"],
          message: `Variables desconocidas: ${unknown.map((v) => `{{${v}}}`).join(", ")}.`,
        });
      }
    });
}

const contactSchema = z.object({
  name: z.string().max(200, { error: "Máximo 200 caracteres." }),
  rut: z.string().trim().min(1, { error: "Escribe el RUT." }).max(20, { error: "Máximo 20 caracteres." }),
  phone: z.string().trim().min(1, { error: "Escribe un teléfono." }).max(100, { error: "Máximo 100 caracteres." }),
  debt_amount: z.string().max(30, { error: "Máximo 30 caracteres." }),
  due_date: z.string().max(30, { error: "Máximo 30 caracteres." }),
});

export const manualContactsSchema = z.object({
  contacts: z.array(contactSchema).min(1, { error: "Agrega al menos un contacto." }).max(200, {
    error: "Para más de 200 contactos sube un archivo.",
  }),
});

export function callSettingsSchema(options: Options, profile: Profile | undefined) {
  const limits = options.limits.call_settings;
  const range = (key: "max_call_duration" | "ring_timeout" | "max_attempts") =>
    intIn(limits[key].minimum, limits[key].maximum);
  const maxDelay = Number(limits.retry_delay_hours.maximum);
  const window = profile?.hours ?? null;
  const allowedDays = profile?.days_of_week ?? null;
  return z
    .object({
      max_call_duration: range("max_call_duration"),
      ring_timeout: range("ring_timeout"),
      max_attempts: range("max_attempts"),
      retry_delay_hours: z
        .string()
        .trim()
        .regex(DECIMAL, { error: "Escribe horas con hasta 4 decimales, como 0.25 o 30." })
        .refine((text) => Number(text) <= maxDelay, { error: between(0, maxDelay) }),
      restrict_hours: z.boolean(),
      start: z.string(),
      end: z.string(),
      days_of_week: z
        .array(z.number().int().min(1).max(7))
        .min(1, { error: "Elige al menos un día." }),
      timezone: z.string().min(1, { error: "Elige una zona horaria." }),
    })
    .superRefine((value, ctx) => {
      const at = (path: string, message: string) => ctx.addIssue({ code: "custom", path: path.split("."), message });
      if (value.restrict_hours) {
        const startOk = HHMM.test(value.start);
        const endOk = HHMM.test(value.end);
        if (!startOk) at("allowed_hours.start", "Escribe una hora HH:MM, de 00:00 a 23:59.");
        if (!endOk) at("allowed_hours.end", "Escribe una hora HH:MM, de 00:00 a 23:59.");
        if (startOk && window && value.start < window.start) {
          at("allowed_hours.start", `Fuera del horario permitido (${window.start} a ${window.end}, perfil ${profile?.code}).`);
        }
        if (endOk && window && value.end > window.end) {
          at("allowed_hours.end", `Fuera del horario permitido (${window.start} a ${window.end}, perfil ${profile?.code}).`);
        }
        if (startOk && endOk && value.start >= value.end) at("allowed_hours.end", "Debe ser posterior a la hora de inicio.");
      }
      if (allowedDays) {
        const refused = value.days_of_week.filter((day) => !allowedDays.includes(day));
        if (refused.length) {
          at("days_of_week", `El perfil ${profile?.code} no permite llamar el ${refused.map((d) => DAY_NAMES[d - 1]).join(", ")}.`);
        }
      }
      const zones = profile?.time_zones ?? [];
      if (zones.length && !zones.includes(value.timezone)) {
        at("timezone", `Debe ser una zona del país del perfil ${profile?.code}.`);
      }
    });
}

export function voiceSchema(voice: Options["voice"]) {
  const range = (name: "speed" | "volume" | "pitch") => {
    const { minimum, maximum } = voice.limits[name];
    return z
      .number({ error: "Escribe un número." })
      .min(minimum, { error: between(minimum, maximum) })
      .max(maximum, { error: between(minimum, maximum) });
  };
  return z.object({
    voice_id: z.string().trim().max(100, { error: "Máximo 100 caracteres." }),
    speed: range("speed"),
    volume: range("volume"),
    pitch: range("pitch"),
    language: z.string().refine((code) => voice.languages.includes(code) || isRegionalSpanish(code), {
      error: "Retell no habla ese idioma.",
    }),
  });
}

export function scheduleSchema(
  timezone: string,
  now: Date = new Date(),
  recurring: Options["recurring"] = { frequencies: ["daily", "weekly", "monthly"], max_interval: 365, max_runs: 1000 },
) {
  const maxInterval = recurring.max_interval;
  const maxRuns = recurring.max_runs;
  return z
    .object({
      schedule_type: z.enum(["immediate", "scheduled", "recurring"], { error: "Elige cuándo empieza." }),
      scheduled_at: z.string(),
      frequency: z.enum(["daily", "weekly", "monthly"], { error: "Elige la frecuencia." }),
      interval: z
        .number({ error: "Escribe un número entero." })
        .int({ error: "Escribe un número entero." })
        .min(1, { error: between(1, maxInterval) })
        .max(maxInterval, { error: between(1, maxInterval) }),
      end_date: z.string(),
      max_runs: z.string().regex(/^(|\d{1,4})$/, { error: "Escribe un número entero." }),
      priority: z.enum(["low", "normal", "high"], { error: "Elige una prioridad." }),
    })
    .superRefine((value, ctx) => {
      const at = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
      if (value.schedule_type !== "immediate") {
        const instant = value.scheduled_at ? wallTimeToUtc(value.scheduled_at, timezone) : null;
        if (!instant) at("scheduled_at", "Elige la fecha y hora de inicio.");
        else if (instant.getTime() < now.getTime()) at("scheduled_at", "Debe ser en el futuro.");
      }
      if (value.schedule_type === "recurring") {
        if (value.max_runs && (Number(value.max_runs) < 1 || Number(value.max_runs) > maxRuns)) {
          at("max_runs", between(1, maxRuns));
        }
        if (value.end_date && value.scheduled_at && value.end_date < value.scheduled_at.slice(0, 10)) {
          at("end_date", "Debe ser posterior al inicio.");
        }
      }
    });
}

/** zod issues → dotted field names under `prefix` ("contacts[3].rut"). */
export function issuesToFields(error: z.ZodError, prefix = ""): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    let key = prefix;
    for (const part of issue.path) {
      if (typeof part === "number") key += `[${part}]`;
      else key += key ? `.${String(part)}` : String(part);
    }
    (out[key || prefix || "detail"] ??= []).push(issue.message);
  }
  return out;
}

// --- wall times in a zone -----------------------------------------------------------------------

function zoneOffsetMinutes(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - instant.getTime()) / 60000);
}

/** "2026-12-05T10:00" read as a wall time in `timeZone` → the instant (null if malformed). */
export function wallTimeToUtc(local: string, timeZone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  let instant = guess - zoneOffsetMinutes(new Date(guess), timeZone) * 60000;
  // A second pass settles wall times near a daylight-saving change.
  instant = guess - zoneOffsetMinutes(new Date(instant), timeZone) * 60000;
  return new Date(instant);
}

// --- the sentence of when calls happen ----------------------------------------------------------

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** [1..6] → "lunes a sábado"; [1, 3, 5] → "lunes, miércoles y viernes". */
export function daysPhrase(days: number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 7) return "todos los días";
  if (sorted.length === 0) return "ningún día";
  const runs: number[][] = [];
  for (const day of sorted) {
    const last = runs[runs.length - 1];
    if (last && day === last[last.length - 1] + 1) last.push(day);
    else runs.push([day]);
  }
  const parts = runs.flatMap((run) =>
    run.length >= 3
      ? [`${DAY_NAMES[run[0] - 1]} a ${DAY_NAMES[run[run.length - 1] - 1]}`]
      : run.map((d) => DAY_NAMES[d - 1]),
  );
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} y ${parts[parts.length - 1]}`;
}

/** "Lunes a sábado de 09:00 a 20:00, hora de Santiago; no en feriados." — what will happen:
 * the campaign's settings narrowed by the compliance profile, as the server does. */
export function scheduleSentence(
  settings: Pick<WizardState["call_settings"], "restrict_hours" | "start" | "end" | "days_of_week" | "timezone">,
  profile?: Pick<Profile, "hours" | "days_of_week" | "holidays_country"> | null,
): string {
  let days = settings.days_of_week;
  if (profile?.days_of_week) days = days.filter((d) => profile.days_of_week?.includes(d));
  let start = settings.restrict_hours ? settings.start : null;
  let end = settings.restrict_hours ? settings.end : null;
  if (profile?.hours) {
    start = start && start > profile.hours.start ? start : profile.hours.start;
    end = end && end < profile.hours.end ? end : profile.hours.end;
  }
  const hours = start && end ? `de ${start} a ${end}` : "a cualquier hora";
  const holidays = profile?.holidays_country ? "; no en feriados" : "";
  return `${capital(daysPhrase(days))} ${hours}, ${zoneLabel(settings.timezone)}${holidays}.`;
}

// --- cost ---------------------------------------------------------------------------------------

/** The server's estimated_cost (batches/services/create.py): one answered call of
 * EXPECTED_CALL_SECONDS per debtor, capped by the maximum duration. */
export const EXPECTED_CALL_SECONDS = 120;

export type CostEstimate = {
  debtors: number;
  expectedMinutes: number;
  perDebtor: number;
  total: number;
  /** Every attempt dialled (setup each) and one call lasting the maximum duration. */
  maximum: number;
  explanation: string;
};

const round2 = (value: number) => Math.round(value * 100) / 100;

export function estimateCost({
  debtors,
  attempts,
  maxCallSeconds,
  setup,
  perMinute,
}: {
  debtors: number;
  attempts: number;
  maxCallSeconds: number;
  setup: number;
  perMinute: number;
}): CostEstimate {
  const expectedMinutes = Math.min(EXPECTED_CALL_SECONDS, maxCallSeconds) / 60;
  const perDebtor = setup + perMinute * expectedMinutes;
  const total = round2(perDebtor * debtors);
  const maximum = round2(debtors * (attempts * setup + (perMinute * maxCallSeconds) / 60));
  const explanation =
    `${formatNumber(debtors)} deudores × (${formatMoney(setup)} por llamada + ` +
    `${formatMoney(perMinute)} por minuto × ${formatNumber(expectedMinutes)} min) = ${formatMoney(total)}. ` +
    `Supone una llamada contestada de ${formatNumber(expectedMinutes)} min por deudor, como el cálculo del servidor. ` +
    `Como máximo, si se marcan los ${formatNumber(attempts)} intentos de cada deudor y una llamada dura ` +
    `los ${formatNumber(maxCallSeconds / 60)} min permitidos: ${formatMoney(maximum)}. ` +
    `Se cobra lo real de cada llamada; las no contestadas pagan solo el cargo por llamada.`;
  return { debtors, expectedMinutes, perDebtor: round2(perDebtor), total, maximum, explanation };
}

// --- server errors → step and field -------------------------------------------------------------

/** A server field name in the wizard's terms: excel/create's names become POST /batches'. */
export function canonicalField(name: string): string {
  if (name === "batch_name") return "name";
  if (name.startsWith("call_settings_json")) return `call_settings${name.slice("call_settings_json".length)}`;
  if (name === "call_settings.priority") return "priority";
  return name;
}

const STEP_OF: [RegExp, StepIndex][] = [
  [/^(account_id|name|description|script_content)$/, 0],
  [/^(file|column_mapping|contacts|errors|strict)([.[]|$)/, 1],
  [/^call_settings([.[]|$)/, 2],
  [/^voice_settings([.[]|$)/, 3],
  [/^(schedule_type|scheduled_at|recurring_config|priority|allow_duplicates|dias_fecha_limite|dias_fecha_maxima)([.[]|$)/, 4],
];

export function stepOfField(name: string): StepIndex | null {
  for (const [pattern, step] of STEP_OF) if (pattern.test(name)) return step;
  return null;
}

export type MappedErrors = {
  /** Errors by step, by canonical dotted field name. */
  byStep: Record<StepIndex, FieldErrors>;
  /** The first step with an error (where the wizard goes), or null. */
  firstStep: StepIndex | null;
  /** Messages that name no field of the wizard. */
  general: string[];
};

export function mapServerErrors(fields: FieldErrors, detail: string | null = null): MappedErrors {
  const byStep: Record<StepIndex, FieldErrors> = { 0: {}, 1: {}, 2: {}, 3: {}, 4: {} };
  const general: string[] = detail ? [detail] : [];
  let firstStep: StepIndex | null = null;
  for (const [raw, messages] of Object.entries(fields)) {
    if (raw === "success") continue;
    const name = canonicalField(raw);
    const step = stepOfField(name);
    if (step === null) {
      general.push(`${raw}: ${messages.join(" ")}`);
      continue;
    }
    byStep[step][name] = [...(byStep[step][name] ?? []), ...messages];
    if (firstStep === null || step < firstStep) firstStep = step;
  }
  return { byStep, firstStep, general };
}

/** The errors of `errors` for one input: `name` itself. */
export function fieldErrors(errors: FieldErrors, name: string): string[] {
  return errors[name] ?? [];
}

/** Every error under `prefix` ("contacts[2]" → its cells; "call_settings" → its fields). */
export function errorsUnder(errors: FieldErrors, prefix: string): string[] {
  return Object.entries(errors)
    .filter(([key]) => key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`))
    .flatMap(([, messages]) => messages);
}

// --- column mapping ----------------------------------------------------------------------------

export const MAPPABLE_FIELDS = [
  { value: "name", label: "Nombre" },
  { value: "rut", label: "RUT" },
  { value: "phone", label: "Teléfono" },
  { value: "email", label: "Correo" },
  { value: "debt_amount", label: "Monto de la deuda" },
  { value: "due_date", label: "Fecha de vencimiento" },
  { value: "installments", label: "Cuotas" },
  { value: "company_name", label: "Empresa" },
  { value: "custom", label: "Personalizada (variable)" },
];

/** The preview's header → use ("phone_2" → "phone"), as the mapping editor's selects show it. */
export function headerFields(preview: Preview): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [header, use] of Object.entries(preview.column_mapping)) {
    out[header] = use.startsWith("phone_") ? "phone" : use;
  }
  return out;
}

/** header → field, as excel/preview and excel/create take it: field → header (a list for
 * phone), every field named (null: switched off) so nothing else is detected. */
export function fieldMappingFor(headers: Record<string, string>): Record<string, string | string[] | null> {
  const out: Record<string, string | string[] | null> = {};
  for (const { value } of MAPPABLE_FIELDS) if (value !== "custom") out[value] = value === "phone" ? [] : null;
  for (const [header, field] of Object.entries(headers)) {
    if (field === "phone") (out.phone as string[]).push(header);
    else if (field !== "custom" && field in out) out[field] = header;
  }
  if ((out.phone as string[]).length === 0) out.phone = null;
  return out;
}

export function sameMapping(a: Record<string, string> | null, b: Record<string, string> | null): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** A merge of a duplicate (shown apart from the other warnings). */
export function isMerge(issue: RowIssue): boolean {
  return /fusionad|merged/i.test(issue.message);
}

// --- the request -----------------------------------------------------------------------------

export function callSettingsBody(state: WizardState) {
  const c = state.call_settings;
  return {
    max_call_duration: c.max_call_duration,
    ring_timeout: c.ring_timeout,
    max_attempts: c.max_attempts,
    retry_delay_hours: c.retry_delay_hours.trim(),
    allowed_hours: c.restrict_hours ? { start: c.start, end: c.end } : null,
    days_of_week: [...c.days_of_week].sort((a, b) => a - b),
    timezone: c.timezone,
    priority: state.schedule.priority,
  };
}

export function voiceBody(state: WizardState) {
  const v = state.voice;
  return { voice_id: v.voice_id.trim() || "default", speed: v.speed, volume: v.volume, pitch: v.pitch, language: v.language };
}

export function scheduleBody(state: WizardState) {
  const s = state.schedule;
  const scheduledAt =
    s.schedule_type === "immediate" ? null : wallTimeToUtc(s.scheduled_at, state.call_settings.timezone)?.toISOString() ?? null;
  const recurring =
    s.schedule_type === "recurring"
      ? {
          frequency: s.frequency,
          interval: s.interval,
          ...(s.end_date ? { end_date: s.end_date } : {}),
          ...(s.max_runs ? { max_runs: Number(s.max_runs) } : {}),
        }
      : null;
  return { schedule_type: s.schedule_type, scheduled_at: scheduledAt, recurring_config: recurring, priority: s.priority };
}

/** The multipart form of excel/create. */
export function excelCreateForm(state: WizardState, isStaff: boolean): FormData {
  const form = new FormData();
  const b = state.basics;
  if (isStaff || b.account_id) form.append("account_id", b.account_id);
  form.append("batch_name", b.name.trim());
  form.append("description", b.description);
  form.append("script_content", b.script_content);
  form.append("processing_type", "basic");
  if (state.contacts.file) form.append("file", state.contacts.file);
  form.append("call_settings_json", JSON.stringify(callSettingsBody(state)));
  form.append("voice_settings", JSON.stringify(voiceBody(state)));
  const schedule = scheduleBody(state);
  form.append("schedule_type", schedule.schedule_type);
  if (schedule.scheduled_at) form.append("scheduled_at", schedule.scheduled_at);
  if (schedule.recurring_config) form.append("recurring_config", JSON.stringify(schedule.recurring_config));
  form.append("priority", schedule.priority);
  if (state.contacts.mapping) form.append("column_mapping", JSON.stringify(fieldMappingFor(state.contacts.mapping)));
  return form;
}

/** The JSON body of POST /batches (typed contacts; strict: one bad contact refuses all, so
 * the user fixes it on its cell instead of losing it). */
export function batchCreateBody(state: WizardState): Schemas["BatchCreateRequest"] {
  const b = state.basics;
  const schedule = scheduleBody(state);
  return {
    account_id: b.account_id || undefined,
    name: b.name.trim(),
    description: b.description,
    script_content: b.script_content,
    call_settings: callSettingsBody(state),
    voice_settings: voiceBody(state),
    schedule_type: schedule.schedule_type,
    scheduled_at: schedule.scheduled_at,
    recurring_config: schedule.recurring_config ?? undefined,
    priority: schedule.priority,
    allow_duplicates: false,
    dias_fecha_limite: null,
    dias_fecha_maxima: null,
    strict: true,
    contacts: state.contacts.rows.map((row) => ({
      ...(row.name.trim() ? { name: row.name.trim() } : {}),
      rut: row.rut.trim(),
      phones: [row.phone.trim()],
      ...(row.debt_amount.trim() ? { debt_amount: row.debt_amount.trim() } : {}),
      ...(row.due_date.trim() ? { due_date: row.due_date.trim() } : {}),
    })),
  };
}

/** How many debtors the campaign will call (the preview's, or the typed rows). */
export function debtorCount(state: WizardState): number {
  return state.contacts.mode === "file" ? state.contacts.preview?.total_jobs ?? 0 : state.contacts.rows.length;
}
