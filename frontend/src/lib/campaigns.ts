/** The campaign screens' logic, kept out of the components so that it is unit-tested:
 * when to poll, progress, labels, query strings, which actions apply, the settings form. */
import type { Schemas } from "../api/client";

export type Batch = Schemas["Batch"];
export type BatchDetail = Schemas["BatchDetail"];
export type BatchStatus = Schemas["BatchStatus"];
export type Job = Schemas["Job"];
export type CallAttempt = Schemas["CallAttempt"];
export type BatchEvent = Schemas["BatchEvent"];
export type CampaignStatus = Schemas["BatchStatusEnum"];
export type JobStatus = Schemas["JobStatusEnum"];

/** How often a live campaign is asked for news (seed 002: "polling cada 5s"). */
export const POLL_MS = 5_000;
export const LIST_PAGE_SIZE = 20;
export const JOBS_PAGE_SIZE = 25;
export const DEFAULT_TIMEZONE = "America/Santiago";

const FINISHED = new Set(["completed", "cancelled"]);
/** Statuses whose figures still move: calls are being made or will start by themselves. */
const LIVE = new Set(["running", "pending"]);

export function isFinished(status: string | null | undefined): boolean {
  return !!status && FINISHED.has(status);
}

/** refetchInterval for a campaign's status: every POLL_MS until it is finished (a paused
 * campaign may be resumed from elsewhere and its calls in flight still end). No data yet: poll. */
export function statusPollInterval(status: string | null | undefined): number | false {
  return isFinished(status) ? false : POLL_MS;
}

/** refetchInterval for the list: only while a listed campaign is running or waiting to start. */
export function listPollInterval(batches: readonly { status: string }[] | null | undefined): number | false {
  return batches?.some((batch) => LIVE.has(batch.status)) ? POLL_MS : false;
}

export type Progress = { finished: number; total: number; percent: number };

/** Jobs settled (done, failed or cancelled) out of the total, as the API's progress_percent. */
export function progressOf(counts: {
  done?: number;
  failed?: number;
  cancelled?: number;
  total: number;
}): Progress {
  const finished = (counts.done ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
  const total = Math.max(0, counts.total);
  const percent = total > 0 ? Math.min(100, Math.round((finished / total) * 1000) / 10) : 0;
  return { finished: Math.min(finished, total || finished), total, percent };
}

/** A list row's progress: completed_jobs + failed_jobs (failed or cancelled) of total_jobs. */
export function batchProgress(batch: Pick<Batch, "completed_jobs" | "failed_jobs" | "total_jobs">): Progress {
  return progressOf({ done: batch.completed_jobs, failed: batch.failed_jobs, total: batch.total_jobs });
}

export const CAMPAIGN_STATUS_LABELS: Record<CampaignStatus, string> = {
  pending: "Programada",
  running: "En curso",
  paused: "Pausada",
  completed: "Completada",
  cancelled: "Cancelada",
};

export function campaignStatusLabel(status: string): string {
  return CAMPAIGN_STATUS_LABELS[status as CampaignStatus] ?? status;
}

export const JOB_STATUS_LABELS: Record<JobStatus, string> = {
  pending: "Pendiente",
  in_progress: "En llamada",
  done: "Completado",
  failed: "Fallido",
  cancelled: "Cancelado",
};

export function jobStatusLabel(status: string): string {
  return JOB_STATUS_LABELS[status as JobStatus] ?? status;
}

const OUTCOME_LABELS: Record<string, string> = {
  contact: "Contactado",
  no_contact: "Sin contacto",
  invalid_number: "Número inválido",
  do_not_call: "No llamar",
  provider_error: "Error del proveedor",
  unknown: "Desconocido",
};

export function outcomeLabel(outcome: string | null | undefined): string {
  if (!outcome) return "—";
  return OUTCOME_LABELS[outcome] ?? outcome;
}

const ATTEMPT_STATUS_LABELS: Record<string, string> = {
  dialling: "Marcando",
  registered: "Registrada",
  ongoing: "En curso",
  ended: "Terminada",
  failed: "Fallida",
  provider_error: "Error del proveedor",
};

export function attemptStatusLabel(status: string): string {
  return ATTEMPT_STATUS_LABELS[status] ?? status;
}

/** Retell's disconnection reasons, as a person would say them. */
const REASON_LABELS: Record<string, string> = {
  user_hangup: "El deudor colgó",
  agent_hangup: "El agente colgó",
  call_transfer: "Transferida",
  voicemail_reached: "Buzón de voz",
  inactivity: "Inactividad",
  max_duration_reached: "Duración máxima",
  dial_no_answer: "No contestó",
  dial_busy: "Ocupado",
  dial_failed: "Falló el marcado",
  invalid_destination: "Número inválido",
  machine_detected: "Contestadora",
};

export function disconnectionLabel(reason: string | null | undefined): string {
  if (!reason) return "—";
  return REASON_LABELS[reason] ?? reason.replaceAll("_", " ");
}

/** A job's last_outcome: Retell's disconnection reason (or an outcome code). */
export function lastOutcomeLabel(value: string | null | undefined): string {
  if (!value) return "—";
  return REASON_LABELS[value] ?? OUTCOME_LABELS[value] ?? value.replaceAll("_", " ");
}

/** "máximo de intentos" → "Máximo de intentos". */
export function capitalize(text: string): string {
  return text ? text[0].toLocaleUpperCase("es-CL") + text.slice(1) : text;
}

const EVENT_LABELS: Record<string, string> = {
  batch_created: "Creada",
  batch_started: "Iniciada",
  batch_paused: "Pausada",
  batch_resumed: "Reanudada",
  batch_settings_changed: "Configuración cambiada",
  batch_cancelled: "Cancelada",
  batch_completed: "Completada",
  jobs_retried: "Reintento de fallidos",
  provider_error: "Error del proveedor",
  waiting_balance: "Esperando saldo",
  run_created: "Nueva ejecución",
  run_skipped: "Ejecución omitida",
  recurrence_ended: "Recurrencia terminada",
};

export function eventLabel(event: string): string {
  return EVENT_LABELS[event] ?? event;
}

export const PRIORITY_LABELS: Record<string, string> = { low: "Baja", normal: "Normal", high: "Alta" };

/** Drop empty values: the API refuses `status=` and a blank search is no search. */
function compact<T extends Record<string, string | number | undefined | null>>(query: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "string" && value.trim() === "") continue;
    (out as Record<string, unknown>)[key] = typeof value === "string" ? value.trim() : value;
  }
  return out;
}

export type ListFilters = { page: number; status: string; search: string; accountId: string };

/** GET /batches's query: the staff's chosen account (none: every account), status, search. */
export function listQuery(filters: ListFilters) {
  return compact({
    page: filters.page > 1 ? filters.page : undefined,
    page_size: LIST_PAGE_SIZE,
    account_id: filters.accountId,
    status: filters.status,
    search: filters.search,
  }) as {
    page?: number;
    page_size: number;
    account_id?: string;
    status?: CampaignStatus;
    search?: string;
  };
}

export type JobFilters = { page: number; status: string; search: string };

export function jobsQuery(filters: JobFilters) {
  return compact({
    page: filters.page > 1 ? filters.page : undefined,
    page_size: JOBS_PAGE_SIZE,
    status: filters.status,
    search: filters.search,
  }) as { page?: number; page_size: number; status?: JobStatus; search?: string };
}

export type Actions = { pause: boolean; resume: boolean; cancel: boolean; edit: boolean };

/** What the API accepts in this state: pause while active, resume while paused, cancel and
 * edit until the campaign is finished (completed or cancelled). */
export function availableActions(batch: { status: string; is_active: boolean }): Actions {
  const open = !isFinished(batch.status);
  return {
    pause: open && batch.is_active,
    resume: open && !batch.is_active,
    cancel: open,
    edit: open,
  };
}

export function exportUrl(batchId: string, audit = false): string {
  return `/api/v1/batches/${encodeURIComponent(batchId)}/export${audit ? "/audit" : ""}`;
}

/** The campaign's zone for its dates (its call settings'), Santiago when it names none. */
export function campaignZone(detail: { call_settings?: { timezone?: string } | null } | null | undefined): string {
  return detail?.call_settings?.timezone || DEFAULT_TIMEZONE;
}

export const WEEKDAYS: { value: number; short: string; label: string }[] = [
  { value: 1, short: "L", label: "Lunes" },
  { value: 2, short: "M", label: "Martes" },
  { value: 3, short: "X", label: "Miércoles" },
  { value: 4, short: "J", label: "Jueves" },
  { value: 5, short: "V", label: "Viernes" },
  { value: 6, short: "S", label: "Sábado" },
  { value: 7, short: "D", label: "Domingo" },
];

/** The edit form's values, all text as the inputs hold them. */
export type SettingsForm = {
  name: string;
  description: string;
  priority: string;
  max_attempts: string;
  retry_delay_hours: string;
  max_call_duration: string;
  ring_timeout: string;
  hours_start: string;
  hours_end: string;
  days: number[];
};

export function settingsForm(detail: BatchDetail): SettingsForm {
  const cs = detail.call_settings;
  return {
    name: detail.name,
    description: detail.description,
    priority: detail.priority,
    max_attempts: String(cs?.max_attempts ?? ""),
    retry_delay_hours: String(cs?.retry_delay_hours ?? ""),
    max_call_duration: String(cs?.max_call_duration ?? ""),
    ring_timeout: String(cs?.ring_timeout ?? ""),
    hours_start: cs?.allowed_hours?.start ?? "",
    hours_end: cs?.allowed_hours?.end ?? "",
    days: cs?.days_of_week ? [...cs.days_of_week] : WEEKDAYS.map((day) => day.value),
  };
}

function numberOrText(value: string): number {
  const trimmed = value.trim().replace(",", ".");
  // A non-number goes as NaN → null in JSON: the server names the field.
  return trimmed === "" ? Number.NaN : Number(trimmed);
}

/** The PATCH body: only what changed; the call settings (partial on the server) with their
 * four required numbers, allowed hours null when both are empty, days null when all 7. */
export function settingsPatch(before: SettingsForm, after: SettingsForm): Schemas["PatchedBatchUpdateRequest"] {
  const body: Schemas["PatchedBatchUpdateRequest"] = {};
  if (after.name !== before.name) body.name = after.name;
  if (after.description !== before.description) body.description = after.description;
  if (after.priority !== before.priority) body.priority = after.priority as Schemas["PriorityEnum"];
  const keys: (keyof SettingsForm)[] = [
    "max_attempts",
    "retry_delay_hours",
    "max_call_duration",
    "ring_timeout",
    "hours_start",
    "hours_end",
  ];
  const sameDays = [...before.days].sort().join() === [...after.days].sort().join();
  if (keys.some((key) => before[key] !== after[key]) || !sameDays) {
    const hours =
      after.hours_start.trim() === "" && after.hours_end.trim() === ""
        ? null
        : { start: after.hours_start.trim(), end: after.hours_end.trim() };
    const days = after.days.length === 7 ? null : [...after.days].sort((a, b) => a - b);
    body.call_settings = {
      max_attempts: numberOrText(after.max_attempts),
      retry_delay_hours: after.retry_delay_hours.trim().replace(",", "."),
      max_call_duration: numberOrText(after.max_call_duration),
      ring_timeout: numberOrText(after.ring_timeout),
      allowed_hours: hours,
      days_of_week: days,
      priority: after.priority as Schemas["PriorityEnum"],
    };
  }
  return body;
}

/** A server error's field name → the form field that shows it. */
export function settingsErrorField(key: string): keyof SettingsForm | null {
  const map: Record<string, keyof SettingsForm> = {
    name: "name",
    description: "description",
    priority: "priority",
    "call_settings.max_attempts": "max_attempts",
    "call_settings.retry_delay_hours": "retry_delay_hours",
    "call_settings.max_call_duration": "max_call_duration",
    "call_settings.ring_timeout": "ring_timeout",
    "call_settings.allowed_hours": "hours_start",
    "call_settings.allowed_hours.start": "hours_start",
    "call_settings.allowed_hours.end": "hours_end",
    "call_settings.days_of_week": "days",
  };
  return map[key] ?? null;
}

/** Field errors grouped by form field; those naming no field go to `other`. */
export function settingsErrors(fields: Record<string, string[]>): {
  byField: Partial<Record<keyof SettingsForm, string[]>>;
  other: string[];
} {
  const byField: Partial<Record<keyof SettingsForm, string[]>> = {};
  const other: string[] = [];
  for (const [key, messages] of Object.entries(fields)) {
    const field = settingsErrorField(key);
    if (field) byField[field] = [...(byField[field] ?? []), ...messages];
    else other.push(...messages);
  }
  return { byField, other };
}

/** A log instant to the second in the campaign's zone: "04-12-2026 16:46:05". */
export function formatLogTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const parts = new Intl.DateTimeFormat("es-CL", {
    timeZone,
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("day")}-${part("month")}-${part("year")} ${part("hour")}:${part("minute")}:${part("second")}`;
}

/** "+56912345678" → "+56 9 1234 5678" (Chilean mobiles), anything else as given. */
export function formatPhone(phone: string): string {
  const match = /^\+569(\d{4})(\d{4})$/.exec(phone);
  return match ? `+56 9 ${match[1]} ${match[2]}` : phone;
}

/** Seconds as "1 min 05 s" / "42 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return minutes > 0 ? `${minutes} min ${String(rest).padStart(2, "0")} s` : `${rest} s`;
}
