/** Step 4: the voice of the calls (Retell's agent override): voice, speed, volume, language;
 * pitch is kept but Retell does not apply it, and the step says so. */
import { Select, TextInput } from "../../components/ui";
import type { StepProps } from "./CampaignWizard";
import { fieldErrors, LANGUAGES, VOICE_LIMITS } from "./model";

export default function StepVoice({ state, update, errors }: StepProps) {
  const v = state.voice;
  const e = (name: string) => fieldErrors(errors, `voice_settings.${name}`);
  const num = (value: string) => (value.trim() === "" ? Number.NaN : Number(value));
  const shown = (value: number) => (Number.isNaN(value) ? "" : value);
  return (
    <>
      <TextInput
        label="Voz (identificador de Retell)"
        value={v.voice_id}
        placeholder="default"
        autoComplete="off"
        errors={e("voice_id")}
        hint="Vacío o «default»: la voz del agente de la cuenta. Por ejemplo 11labs-Adrian."
        onChange={(event) => update("voice", { voice_id: event.target.value })}
      />
      <Select
        label="Idioma"
        value={v.language}
        errors={e("language")}
        hint="Un español regional (es-CL, es-AR…) se envía a Retell como español latinoamericano (es-419)."
        options={LANGUAGES}
        onChange={(event) => update("voice", { language: event.target.value })}
      />
      <div className="form-grid">
        <TextInput
          label="Velocidad"
          type="number"
          step="0.1"
          min={VOICE_LIMITS.speed[0]}
          max={VOICE_LIMITS.speed[1]}
          value={shown(v.speed)}
          errors={e("speed")}
          hint="0,5 a 2,0 (1,0 = normal)."
          onChange={(event) => update("voice", { speed: num(event.target.value) })}
        />
        <TextInput
          label="Volumen"
          type="number"
          step="0.1"
          min={VOICE_LIMITS.volume[0]}
          max={VOICE_LIMITS.volume[1]}
          value={shown(v.volume)}
          errors={e("volume")}
          hint="0 a 2,0 (1,0 = normal)."
          onChange={(event) => update("voice", { volume: num(event.target.value) })}
        />
        <TextInput
          label="Tono (no se aplica)"
          type="number"
          step="1"
          min={VOICE_LIMITS.pitch[0]}
          max={VOICE_LIMITS.pitch[1]}
          value={shown(v.pitch)}
          errors={e("pitch")}
          hint="-10 a 10. Retell no tiene control de tono: se guarda, pero no cambia la voz."
          onChange={(event) => update("voice", { pitch: num(event.target.value) })}
        />
      </div>
    </>
  );
}
