/** Step 4: the voice of the calls (Retell's agent override): voice, speed, volume, language,
 * with the ranges and languages of GET /options; pitch is kept but Retell does not apply it,
 * and the step says so. */
import { Select, TextInput } from "../../components/ui";
import { formatNumber } from "../../lib/format";
import type { StepProps } from "./CampaignWizard";
import { fieldErrors, isRegionalSpanish, languageOptions } from "./model";

export default function StepVoice({ state, update, errors, options }: StepProps) {
  const v = state.voice;
  const voice = options.voice;
  const e = (name: string) => fieldErrors(errors, `voice_settings.${name}`);
  const num = (value: string) => (value.trim() === "" ? Number.NaN : Number(value));
  const shown = (value: number) => (Number.isNaN(value) ? "" : value);
  const range = (name: "speed" | "volume" | "pitch") => {
    const { minimum, maximum, default: normal } = voice.limits[name];
    return { min: minimum, max: maximum, text: `${formatNumber(minimum)} a ${formatNumber(maximum)} (${formatNumber(normal)} = normal)` };
  };
  const pitchIgnored = voice.not_applied.includes("pitch");
  return (
    <>
      <TextInput
        label="Voz (identificador de Retell)"
        value={v.voice_id}
        placeholder="default"
        autoComplete="off"
        errors={e("voice_id")}
        hint="Vacío o «default»: la voz del agente de la cuenta. Otra voz, por su identificador en Retell (por ejemplo 11labs-Adrian)."
        onChange={(event) => update("voice", { voice_id: event.target.value })}
      />
      <Select
        label="Idioma"
        value={v.language}
        errors={e("language")}
        hint={
          isRegionalSpanish(v.language)
            ? `Retell tiene un solo español latinoamericano: ${v.language} se envía como ${voice.regional_spanish}.`
            : undefined
        }
        options={languageOptions(voice)}
        onChange={(event) => update("voice", { language: event.target.value })}
      />
      <div className="form-grid">
        {(["speed", "volume"] as const).map((name) => (
          <TextInput
            key={name}
            label={name === "speed" ? "Velocidad" : "Volumen"}
            type="number"
            step="0.1"
            min={range(name).min}
            max={range(name).max}
            value={shown(v[name])}
            errors={e(name)}
            hint={`${range(name).text}.`}
            onChange={(event) => update("voice", { [name]: num(event.target.value) })}
          />
        ))}
        <TextInput
          label={pitchIgnored ? "Tono (Retell no lo aplica)" : "Tono"}
          type="number"
          step="1"
          min={range("pitch").min}
          max={range("pitch").max}
          value={shown(v.pitch)}
          errors={e("pitch")}
          hint={
            pitchIgnored
              ? `${range("pitch").text}. Retell no tiene control de tono: se guarda, pero no cambia la voz.`
              : `${range("pitch").text}.`
          }
          onChange={(event) => update("voice", { pitch: num(event.target.value) })}
        />
      </div>
    </>
  );
}
