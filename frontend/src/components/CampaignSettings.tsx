/** A campaign's settings: shown in its Configuración tab, edited in a dialog (PATCH
 * /batches/{id}: name, description, priority and the call settings, until it is finished). */
import { useState, type FormEvent } from "react";
import { api, ApiError, unwrap } from "../api/client";
import {
  type BatchDetail,
  PRIORITY_LABELS,
  type SettingsForm,
  WEEKDAYS,
  settingsErrors,
  settingsForm,
  settingsPatch,
} from "../lib/campaigns";
import { formatDateTime, formatMoney, formatNumber, zoneLabel } from "../lib/format";
import { Modal, Select, TextArea, TextInput } from "./ui";

export function CampaignSettings({ batch, zone }: { batch: BatchDetail; zone: string }) {
  const cs = batch.call_settings;
  const days = cs?.days_of_week
    ? WEEKDAYS.filter((day) => cs.days_of_week!.includes(day.value))
        .map((day) => day.label)
        .join(", ")
    : "Todos los días";
  return (
    <dl className="settings-list">
      <Item term="Descripción">{batch.description || "—"}</Item>
      <Item term="Prioridad">{PRIORITY_LABELS[batch.priority] ?? batch.priority}</Item>
      <Item term="Horario permitido">
        {cs?.allowed_hours ? `${cs.allowed_hours.start} a ${cs.allowed_hours.end}` : "Cualquier hora"} (
        {zoneLabel(zone)})
      </Item>
      <Item term="Días">{days}</Item>
      <Item term="Intentos máximos por deudor">{formatNumber(cs?.max_attempts)}</Item>
      <Item term="Espera entre intentos">{formatNumber(cs?.retry_delay_hours)} h</Item>
      <Item term="Duración máxima de llamada">{formatNumber(cs?.max_call_duration)} s</Item>
      <Item term="Tiempo de timbrado">{formatNumber(cs?.ring_timeout)} s</Item>
      <Item term="Costo estimado">{formatMoney(batch.estimated_cost)}</Item>
      <Item term="Costo a la fecha">{formatMoney(batch.total_cost)}</Item>
      <Item term="Minutos hablados">{formatNumber(batch.total_minutes)} min</Item>
      <Item term="Filas importadas">
        {formatNumber(batch.total_rows)} ({formatNumber(batch.invalid_rows)} inválidas,{" "}
        {formatNumber(batch.duplicates_merged)} duplicadas, {formatNumber(batch.skipped_existing)} ya en otra campaña)
      </Item>
      <Item term="Creada">
        {formatDateTime(batch.created_at, zone)}
        {batch.created_by ? ` por ${batch.created_by}` : ""}
      </Item>
      {batch.scheduled_at && <Item term="Programada para">{formatDateTime(batch.scheduled_at, zone)}</Item>}
      {batch.completed_at && <Item term="Terminada">{formatDateTime(batch.completed_at, zone)}</Item>}
    </dl>
  );
}

function Item({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="settings-item">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function SettingsDialog({
  batch,
  onClose,
  onSaved,
}: {
  batch: BatchDetail;
  onClose: () => void;
  onSaved: (batch: BatchDetail) => void;
}) {
  const [initial] = useState(() => settingsForm(batch));
  const [form, setForm] = useState<SettingsForm>(initial);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const errors = error ? settingsErrors(error.fields) : { byField: {}, other: [] };
  const set = (key: keyof SettingsForm) => (event: { target: { value: string } }) =>
    setForm((current) => ({ ...current, [key]: event.target.value }));

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const body = settingsPatch(initial, form);
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const updated = await unwrap(
        api.PATCH("/api/v1/batches/{batch_id}", { params: { path: { batch_id: batch.batch_id } }, body }),
      );
      onSaved(updated);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, null));
    } finally {
      setSaving(false);
    }
  }

  const general = [error?.detail, ...errors.other].filter(Boolean);
  return (
    <Modal
      title="Editar configuración"
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Volver
          </button>
          <button type="submit" form="settings-form" className="btn btn-primary" disabled={saving}>
            {saving ? "Guardando…" : "Guardar cambios"}
          </button>
        </>
      }
    >
      <form id="settings-form" onSubmit={onSubmit} noValidate>
        {general.length > 0 && (
          <div className="alert alert-error" role="alert">
            {general.join(" ")}
          </div>
        )}
        <p className="small muted">
          Los cambios de llamadas se aplican a los deudores que aún no han sido llamados, desde su próximo intento.
        </p>
        <div className="form-grid">
          <TextInput label="Nombre" value={form.name} onChange={set("name")} errors={errors.byField.name} required />
          <Select
            label="Prioridad"
            value={form.priority}
            onChange={set("priority")}
            errors={errors.byField.priority}
            options={Object.entries(PRIORITY_LABELS).map(([value, label]) => ({ value, label }))}
          />
        </div>
        <TextArea
          label="Descripción"
          value={form.description}
          onChange={set("description")}
          errors={errors.byField.description}
        />
        <div className="form-grid">
          <TextInput
            label="Intentos máximos por deudor"
            inputMode="numeric"
            value={form.max_attempts}
            onChange={set("max_attempts")}
            errors={errors.byField.max_attempts}
          />
          <TextInput
            label="Horas entre intentos"
            inputMode="decimal"
            value={form.retry_delay_hours}
            onChange={set("retry_delay_hours")}
            errors={errors.byField.retry_delay_hours}
          />
          <TextInput
            label="Duración máx. de llamada (s)"
            inputMode="numeric"
            value={form.max_call_duration}
            onChange={set("max_call_duration")}
            errors={errors.byField.max_call_duration}
          />
          <TextInput
            label="Tiempo de timbrado (s)"
            inputMode="numeric"
            value={form.ring_timeout}
            onChange={set("ring_timeout")}
            errors={errors.byField.ring_timeout}
          />
          <TextInput
            label="Llamar desde"
            type="time"
            value={form.hours_start}
            onChange={set("hours_start")}
            errors={errors.byField.hours_start}
            hint="Vacío: a cualquier hora."
          />
          <TextInput
            label="Llamar hasta"
            type="time"
            value={form.hours_end}
            onChange={set("hours_end")}
            errors={errors.byField.hours_end}
          />
        </div>
        <fieldset className={errors.byField.days ? "field-invalid" : undefined}>
          <legend>Días de llamada</legend>
          <div className="weekdays">
            {WEEKDAYS.map((day) => (
              <label key={day.value} className="checkbox">
                <input
                  type="checkbox"
                  checked={form.days.includes(day.value)}
                  onChange={(event) =>
                    setForm((current) => ({
                      ...current,
                      days: event.target.checked
                        ? [...current.days, day.value]
                        : current.days.filter((value) => value !== day.value),
                    }))
                  }
                />
                {day.label}
              </label>
            ))}
          </div>
          {errors.byField.days && <small className="error-text">{errors.byField.days.join(" ")}</small>}
        </fieldset>
      </form>
    </Modal>
  );
}
