/** Step 5: when the campaign starts (now, at a date-time in its zone, or recurring) and its
 * priority; then a review of everything, the estimated cost, and "Crear Campaña". */
import { Select, TextInput } from "../../components/ui";
import { formatDateTime, formatMoney, formatNumber, zoneLabel } from "../../lib/format";
import type { StepProps } from "./CampaignWizard";
import {
  debtorCount,
  estimateCost,
  fieldErrors,
  languageOptions,
  scheduleSentence,
  STEPS,
  wallTimeToUtc,
  type FieldErrors,
  type Preview,
  type StepIndex,
} from "./model";

const TYPES = [
  { value: "immediate", label: "Inmediata", hint: "Empieza al crearla, dentro del horario permitido." },
  { value: "scheduled", label: "Programada", hint: "Empieza en la fecha y hora que elijas." },
  { value: "recurring", label: "Recurrente", hint: "Se repite cada cierto tiempo desde la fecha de inicio." },
] as const;
const PRIORITY_LABELS: Record<string, string> = { low: "Baja", normal: "Normal", high: "Alta" };
const FREQUENCY_LABELS: Record<string, string> = { daily: "Días", weekly: "Semanas", monthly: "Meses" };

export default function StepSchedule({
  state,
  update,
  errors,
  account,
  profile,
  options,
  goTo,
  allErrors,
}: StepProps & { allErrors: Record<StepIndex, FieldErrors> }) {
  const s = state.schedule;
  const tz = state.call_settings.timezone;
  const e = (name: string) => fieldErrors(errors, name);
  const debtors = debtorCount(state);
  const cost = estimateCost({
    debtors,
    attempts: state.call_settings.max_attempts,
    maxCallSeconds: state.call_settings.max_call_duration,
    setup: Number(account?.cost_per_call_setup ?? 0),
    perMinute: Number(account?.cost_per_minute ?? 0),
  });
  const start = s.schedule_type === "immediate" ? null : wallTimeToUtc(s.scheduled_at, tz);
  const priorities = options.priorities.map((p) => ({ value: p.value, label: PRIORITY_LABELS[p.value] ?? p.label }));
  const frequencies = options.recurring.frequencies.map((value) => ({ value, label: FREQUENCY_LABELS[value] ?? value }));
  const frequency = (FREQUENCY_LABELS[s.frequency] ?? s.frequency).toLowerCase();
  const c = state.call_settings;
  const v = state.voice;
  const b = state.basics;

  return (
    <>
      <fieldset>
        <legend>¿Cuándo empieza?</legend>
        {TYPES.map((type) => (
          <label key={type.value} className="radio radio-block">
            <input
              type="radio"
              name="schedule-type"
              value={type.value}
              checked={s.schedule_type === type.value}
              onChange={() => update("schedule", { schedule_type: type.value })}
            />
            <span>
              <strong>{type.label}</strong> <span className="muted">— {type.hint}</span>
            </span>
          </label>
        ))}
        {e("schedule_type").length > 0 && <p className="error-text">{e("schedule_type").join(" ")}</p>}
      </fieldset>
      {s.schedule_type !== "immediate" && (
        <TextInput
          label={`Fecha y hora de inicio (${zoneLabel(tz)})`}
          type="datetime-local"
          value={s.scheduled_at}
          errors={e("scheduled_at")}
          hint={`En la zona de la campaña (${tz}), no en la de tu navegador.`}
          onChange={(event) => update("schedule", { scheduled_at: event.target.value })}
        />
      )}
      {s.schedule_type === "recurring" && (
        <fieldset>
          <legend>Repetición</legend>
          <div className="form-grid">
            <TextInput
              label="Cada"
              type="number"
              min={1}
              max={options.recurring.max_interval}
              value={Number.isNaN(s.interval) ? "" : s.interval}
              errors={e("recurring_config.interval")}
              onChange={(event) => update("schedule", { interval: event.target.value === "" ? Number.NaN : Number(event.target.value) })}
            />
            <Select
              label="Unidad"
              value={s.frequency}
              errors={e("recurring_config.frequency")}
              options={frequencies}
              onChange={(event) => update("schedule", { frequency: event.target.value as typeof s.frequency })}
            />
            <TextInput
              label="Último día (opcional)"
              type="date"
              value={s.end_date}
              errors={e("recurring_config.end_date")}
              onChange={(event) => update("schedule", { end_date: event.target.value })}
            />
            <TextInput
              label="Máximo de ejecuciones (opcional)"
              type="number"
              min={1}
              max={options.recurring.max_runs}
              value={s.max_runs}
              errors={e("recurring_config.max_runs")}
              onChange={(event) => update("schedule", { max_runs: event.target.value })}
            />
          </div>
          {e("recurring_config").length > 0 && <p className="error-text">{e("recurring_config").join(" ")}</p>}
        </fieldset>
      )}
      <Select
        label="Prioridad"
        value={s.priority}
        errors={e("priority")}
        hint="Con varias campañas a la vez, las de mayor prioridad llaman primero."
        options={priorities}
        onChange={(event) => update("schedule", { priority: event.target.value as typeof s.priority })}
      />

      <section className="review" aria-labelledby="review-title">
        <h3 id="review-title">Revisión</h3>
        <ReviewSection title={STEPS[0].label} step={0} goTo={goTo} errors={allErrors[0]}>
          <Item term="Nombre" value={b.name.trim() || "—"} />
          {b.description.trim() && <Item term="Descripción" value={b.description.trim()} />}
          <Item term="Guion" value={b.script_content.trim() ? <q className="script-quote">{b.script_content.trim()}</q> : "(sin guion)"} />
        </ReviewSection>
        <ReviewSection title={STEPS[1].label} step={1} goTo={goTo} errors={allErrors[1]}>
          {state.contacts.mode === "file" ? (
            <>
              <Item term="Archivo" value={state.contacts.file?.name ?? "—"} />
              <Item
                term="Deudores"
                value={
                  state.contacts.preview
                    ? previewSummary(state.contacts.preview)
                    : "—"
                }
              />
            </>
          ) : (
            <Item term="Deudores" value={`${formatNumber(debtors)} escritos a mano`} />
          )}
        </ReviewSection>
        <ReviewSection title={STEPS[2].label} step={2} goTo={goTo} errors={allErrors[2]}>
          <Item term="Cuándo" value={scheduleSentence(c, profile)} />
          <Item
            term="Intentos"
            value={`${c.max_attempts}, cada ${formatNumber(Number(c.retry_delay_hours))} h como mínimo`}
          />
          <Item term="Duración máxima" value={`${formatNumber(c.max_call_duration / 60)} min; timbre ${c.ring_timeout} s`} />
        </ReviewSection>
        <ReviewSection title={STEPS[3].label} step={3} goTo={goTo} errors={allErrors[3]}>
          <Item term="Voz" value={v.voice_id.trim() || "La del agente de la cuenta"} />
          <Item term="Idioma" value={languageOptions(options.voice).find((l) => l.value === v.language)?.label ?? v.language} />
          <Item term="Velocidad y volumen" value={`${formatNumber(v.speed)} × · volumen ${formatNumber(v.volume)}`} />
        </ReviewSection>
        <ReviewSection title="Inicio" step={4} goTo={goTo} errors={{}} current>
          <Item
            term="Empieza"
            value={
              s.schedule_type === "immediate"
                ? "Al crearla"
                : start
                  ? `${formatDateTime(start.toISOString(), tz, true)}${s.schedule_type === "recurring" ? `, y luego cada ${s.interval} ${frequency}` : ""}`
                  : "—"
            }
          />
          <Item term="Prioridad" value={priorities.find((p) => p.value === s.priority)?.label ?? s.priority} />
        </ReviewSection>

        <div className="cost" data-testid="cost-estimate">
          <h4>Costo estimado</h4>
          <p className="cost-total">
            {account ? formatMoney(cost.total) : "—"}{" "}
            <span className="muted">(máximo {account ? formatMoney(cost.maximum) : "—"})</span>
          </p>
          <p className="hint">{account ? cost.explanation : "Elige una cuenta para estimar el costo."}</p>
        </div>
      </section>
    </>
  );
}

function plural(count: number, one: string, many: string): string {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

function previewSummary(p: Preview): string {
  return (
    `${formatNumber(p.total_jobs)} (de ${plural(p.total_rows, "fila", "filas")}; ` +
    `${plural(p.invalid_rows, "fila con errores se omite", "filas con errores se omiten")}; ` +
    `${plural(p.duplicates_merged, "duplicado fusionado", "duplicados fusionados")})`
  );
}

function ReviewSection({
  title,
  step,
  goTo,
  errors,
  children,
  current = false,
}: {
  title: string;
  step: StepIndex;
  goTo: (step: StepIndex) => void;
  errors: FieldErrors;
  children: React.ReactNode;
  current?: boolean;
}) {
  const bad = Object.keys(errors).length > 0;
  return (
    <div className={`review-section${bad ? " review-bad" : ""}`}>
      <div className="review-head">
        <h4>{title}</h4>
        {!current && (
          <button type="button" className="btn btn-small" onClick={() => goTo(step)} aria-label={`Editar ${title}`}>
            Editar
          </button>
        )}
      </div>
      <dl className="review-list">{children}</dl>
    </div>
  );
}

function Item({ term, value }: { term: string; value: React.ReactNode }) {
  return (
    <div className="review-item">
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}
