/** Step 3: call settings, inside the account's compliance window (shown and enforced), with
 * the sentence that says when calls will happen. */
import { Select, TextInput } from "../../components/ui";
import { formatNumber, zoneLabel } from "../../lib/format";
import type { StepProps } from "./CampaignWizard";
import { DAY_NAMES, daysPhrase, fieldErrors, scheduleSentence } from "./model";

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export default function StepCalls({ state, update, errors, options, profile }: StepProps) {
  const c = state.call_settings;
  const limits = options.limits.call_settings;
  const e = (name: string) => fieldErrors(errors, `call_settings.${name}`);
  const num = (value: string) => (value.trim() === "" ? Number.NaN : Number(value));
  const window = profile?.hours ?? null;
  const allowedDays = profile?.days_of_week ?? null;
  const zones = profile?.time_zones ?? [];

  return (
    <>
      {profile && (
        <div className="alert alert-info compliance" data-testid="compliance-window">
          <strong>Perfil de cumplimiento de la cuenta: {profile.label}.</strong>{" "}
          {window ? `Se puede llamar de ${window.start} a ${window.end}` : "Sin límite de horario"}
          {allowedDays ? `, ${daysPhrase(allowedDays)}` : ", todos los días"}
          {profile.holidays_country ? ", nunca en feriados" : ""} (hora local del deudor).
          {profile.max_answered_contacts_per_7d
            ? ` Máximo ${profile.max_answered_contacts_per_7d} contacto contestado por deudor cada 7 días.`
            : ""}
          {profile.max_attempts_per_7d ? ` Máximo ${profile.max_attempts_per_7d} intentos por deudor cada 7 días.` : ""}
        </div>
      )}
      <div className="form-grid form-grid-pairs">
        <TextInput
          label="Duración máxima por llamada (segundos)"
          type="number"
          inputMode="numeric"
          min={limits.max_call_duration.minimum}
          max={limits.max_call_duration.maximum}
          value={Number.isNaN(c.max_call_duration) ? "" : c.max_call_duration}
          errors={e("max_call_duration")}
          hint={`${formatNumber(limits.max_call_duration.minimum)} a ${formatNumber(limits.max_call_duration.maximum)} s${Number.isFinite(c.max_call_duration) ? ` · ${formatNumber(c.max_call_duration / 60)} min` : ""}`}
          onChange={(event) => update("call_settings", { max_call_duration: num(event.target.value) })}
        />
        <TextInput
          label="Tiempo de timbre (segundos)"
          type="number"
          inputMode="numeric"
          min={limits.ring_timeout.minimum}
          max={limits.ring_timeout.maximum}
          value={Number.isNaN(c.ring_timeout) ? "" : c.ring_timeout}
          errors={e("ring_timeout")}
          hint={`${limits.ring_timeout.minimum} a ${limits.ring_timeout.maximum} s sin contestar antes de cortar.`}
          onChange={(event) => update("call_settings", { ring_timeout: num(event.target.value) })}
        />
        <TextInput
          label="Intentos por deudor"
          type="number"
          inputMode="numeric"
          min={limits.max_attempts.minimum}
          max={limits.max_attempts.maximum}
          value={Number.isNaN(c.max_attempts) ? "" : c.max_attempts}
          errors={e("max_attempts")}
          hint={`${limits.max_attempts.minimum} a ${limits.max_attempts.maximum} llamadas como máximo.`}
          onChange={(event) => update("call_settings", { max_attempts: num(event.target.value) })}
        />
        <TextInput
          label="Espera entre intentos (horas)"
          inputMode="decimal"
          value={c.retry_delay_hours}
          errors={e("retry_delay_hours")}
          hint={`0 a ${formatNumber(Number(limits.retry_delay_hours.maximum))} h; decimales con punto (0.5 = 30 min).`}
          onChange={(event) => update("call_settings", { retry_delay_hours: event.target.value })}
        />
      </div>

      <fieldset>
        <legend>Horario de llamadas</legend>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={c.restrict_hours}
            onChange={(event) => update("call_settings", { restrict_hours: event.target.checked })}
          />
          Limitar a un horario propio {window ? `(dentro de ${window.start} a ${window.end})` : ""}
        </label>
        {c.restrict_hours ? (
          <div className="form-grid form-grid-2">
            <TextInput
              label="Desde"
              type="time"
              value={c.start}
              min={window?.start}
              max={window?.end}
              errors={e("allowed_hours.start")}
              onChange={(event) => update("call_settings", { start: event.target.value })}
            />
            <TextInput
              label="Hasta"
              type="time"
              value={c.end}
              min={window?.start}
              max={window?.end}
              errors={e("allowed_hours.end")}
              hint="La última llamada empieza antes de esta hora."
              onChange={(event) => update("call_settings", { end: event.target.value })}
            />
          </div>
        ) : (
          <p className="hint">Cualquier hora que permita el perfil de cumplimiento.</p>
        )}
        {e("allowed_hours").length > 0 && <p className="error-text">{e("allowed_hours").join(" ")}</p>}
      </fieldset>

      <fieldset aria-describedby={e("days_of_week").length ? "days-error" : undefined}>
        <legend>Días de la semana</legend>
        <div className="days">
          {DAY_NAMES.map((name, i) => {
            const day = i + 1;
            const refused = allowedDays !== null && !allowedDays.includes(day);
            return (
              <label key={day} className={`checkbox day${refused ? " day-refused" : ""}`}>
                <input
                  type="checkbox"
                  checked={c.days_of_week.includes(day)}
                  disabled={refused && !c.days_of_week.includes(day)}
                  onChange={(event) =>
                    update("call_settings", {
                      days_of_week: event.target.checked
                        ? [...c.days_of_week, day].sort((a, b) => a - b)
                        : c.days_of_week.filter((d) => d !== day),
                    })
                  }
                />
                {capital(name)}
                {refused && <span className="muted">(no permitido)</span>}
              </label>
            );
          })}
        </div>
        {e("days_of_week").length > 0 && (
          <p id="days-error" className="error-text">
            {e("days_of_week").join(" ")}
          </p>
        )}
      </fieldset>

      {zones.length > 0 && zones.length < 50 ? (
        <Select
          label="Zona horaria de la campaña"
          value={c.timezone}
          errors={e("timezone")}
          hint="Las horas de arriba son de esta zona; el perfil se revisa además en la zona de cada número."
          options={zones.map((zone) => ({ value: zone, label: `${zone} (${zoneLabel(zone)})` }))}
          onChange={(event) => update("call_settings", { timezone: event.target.value })}
        />
      ) : (
        <TextInput
          label="Zona horaria de la campaña (IANA)"
          value={c.timezone}
          errors={e("timezone")}
          hint="Por ejemplo America/Santiago."
          onChange={(event) => update("call_settings", { timezone: event.target.value })}
        />
      )}
      {fieldErrors(errors, "call_settings").length > 0 && (
        <p className="error-text">{fieldErrors(errors, "call_settings").join(" ")}</p>
      )}

      <p className="sentence" role="status" aria-live="polite" data-testid="when-sentence">
        <strong>Las llamadas se harán:</strong> {scheduleSentence(c, profile)}
      </p>
    </>
  );
}
