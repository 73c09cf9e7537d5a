import { describe, expect, it } from "vitest";
import {
  basicsSchema,
  callSettingsSchema,
  canonicalField,
  daysPhrase,
  estimateCost,
  fieldMappingFor,
  headerFields,
  initialState,
  issuesToFields,
  languageOptions,
  manualContactsSchema,
  mapServerErrors,
  scheduleBody,
  scheduleSchema,
  scheduleSentence,
  scriptVariables,
  stepOfField,
  unknownVariables,
  voiceSchema,
  wallTimeToUtc,
  type Options,
  type Preview,
  type Profile,
} from "../src/pages/wizard/model";

// GET /options as the server answers it (calls/options.py), trimmed to what the wizard reads.
const CL: Profile = {
  code: "CL",
  label: "Chile (Ley 19.496 / 21.320)",
  country: "CL",
  time_zones: ["America/Coyhaique", "America/Punta_Arenas", "America/Santiago", "Pacific/Easter"],
  hours: { start: "08:00", end: "20:00" },
  days_of_week: [1, 2, 3, 4, 5, 6],
  holidays_country: "CL",
  max_answered_contacts_per_7d: 1,
  max_attempts_per_7d: null,
};
const NONE: Profile = {
  code: "none",
  label: "Ninguno",
  country: null,
  time_zones: [],
  hours: null,
  days_of_week: null,
  holidays_country: null,
  max_answered_contacts_per_7d: null,
  max_attempts_per_7d: null,
};
const OPTIONS = {
  compliance_profiles: [CL, NONE],
  default_compliance_profile: "CL",
  script_variables: [
    "nombre",
    "empresa",
    "RUT",
    "monto_total",
    "fecha_vencimiento",
    "fecha_limite",
    "fecha_maxima",
    "cuotas_adeudadas",
  ].map((name) => ({ name, description: "" })),
  script_custom_variables: "",
  limits: {
    max_concurrent_calls: { minimum: 1, maximum: 100, default: 5 },
    call_settings: {
      max_call_duration: { minimum: 60, maximum: 7200, default: 600 },
      ring_timeout: { minimum: 5, maximum: 300, default: 60 },
      max_attempts: { minimum: 1, maximum: 20, default: 3 },
      retry_delay_hours: { minimum: 0, maximum: 720, default: 30, decimal_places: 4 },
      allowed_hours: { format: "HH:MM", default: null },
      days_of_week: { minimum: 1, maximum: 7, default: null },
      priority: { choices: ["low", "normal", "high"], default: "normal" },
    },
  },
  plan_types: [],
  priorities: [],
  voice: {
    limits: {
      speed: { minimum: 0.5, maximum: 2, default: 1 },
      volume: { minimum: 0, maximum: 2, default: 1 },
      pitch: { minimum: -10, maximum: 10, default: 0 },
    },
    languages: ["en-US", "es-419", "es-ES", "pt-BR"],
    regional_spanish: "es-419",
    default_language: "es-CL",
    default_voice_ids: ["", "default"],
    not_applied: ["pitch"],
  },
  recurring: { frequencies: ["daily", "weekly", "monthly"], max_interval: 365, max_runs: 1000 },
} as unknown as Options;
const KNOWN = OPTIONS.script_variables.map((v) => v.name);

const calls = (patch: Partial<ReturnType<typeof initialState>["call_settings"]> = {}) => ({
  ...initialState("retail").call_settings,
  ...patch,
});

describe("script variables (batches/script.py's rule)", () => {
  it("finds each {{variable}} once, in order, spaces inside the braces allowed", () => {
    expect(scriptVariables("Hola {{ nombre }}, {{monto_total}} y {{nombre}} {{}}")).toEqual(["nombre", "monto_total", ""]);
    expect(scriptVariables("sin variables { nombre }")).toEqual([]);
  });

  it("flags what no call carries: not the fixed names, the alias name, nor custom columns", () => {
    expect(unknownVariables("Hola {{name}}, {{RUT}} {{saldo}} {{rut}}", KNOWN)).toEqual(["saldo", "rut"]);
    expect(unknownVariables("{{saldo}}", KNOWN, ["saldo"])).toEqual([]);
  });

  it("blocks step 1 only once the file's columns are known", () => {
    const basics = { account_id: "retail", name: "Cartera", description: "", script_content: "{{saldo}}" };
    expect(basicsSchema(KNOWN, null).safeParse(basics).success).toBe(true);
    const refused = basicsSchema(KNOWN, []).safeParse(basics);
    expect(refused.success).toBe(false);
    if (!refused.success) expect(issuesToFields(refused.error)).toEqual({ script_content: ["Variables desconocidas: {{saldo}}."] });
    expect(basicsSchema(KNOWN, ["saldo"]).safeParse(basics).success).toBe(true);
  });
});

describe("the wizard's zod schemas", () => {
  it("step 1: account, a name of 1 to 200 characters", () => {
    const result = basicsSchema(KNOWN, null).safeParse({ account_id: "", name: " ".repeat(3), description: "", script_content: "" });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(Object.keys(issuesToFields(result.error)).sort()).toEqual(["account_id", "name"]);
    }
    const long = basicsSchema(KNOWN, null).safeParse({ account_id: "a", name: "x".repeat(201), description: "", script_content: "" });
    expect(long.success).toBe(false);
  });

  it("typed contacts: RUT and phone required, errors named contacts[i].field", () => {
    const result = manualContactsSchema.safeParse({
      contacts: [
        { name: "Ana", rut: "12.345.678-5", phone: "+56912345678", debt_amount: "", due_date: "" },
        { name: "", rut: "", phone: " ", debt_amount: "", due_date: "" },
      ],
    });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(Object.keys(issuesToFields(result.error)).sort()).toEqual(["contacts[1].phone", "contacts[1].rut"]);
    }
    expect(manualContactsSchema.safeParse({ contacts: [] }).success).toBe(false);
  });

  it("call settings: /options' limits, inside the profile's window and days", () => {
    const schema = callSettingsSchema(OPTIONS, CL);
    expect(schema.safeParse(calls({ start: "09:00", end: "20:00" })).success).toBe(true);
    const result = schema.safeParse(
      calls({ start: "07:00", end: "21:00", max_attempts: 21, ring_timeout: 4, retry_delay_hours: "0.12345", days_of_week: [6, 7] }),
    );
    expect(result.success).toBe(false);
    if (!result.success) {
      const fields = issuesToFields(result.error, "call_settings");
      expect(Object.keys(fields).sort()).toEqual([
        "call_settings.allowed_hours.end",
        "call_settings.allowed_hours.start",
        "call_settings.days_of_week",
        "call_settings.max_attempts",
        "call_settings.retry_delay_hours",
        "call_settings.ring_timeout",
      ]);
      expect(fields["call_settings.allowed_hours.start"][0]).toMatch(/Fuera del horario permitido \(08:00 a 20:00/);
      expect(fields["call_settings.days_of_week"][0]).toMatch(/domingo/);
      expect(fields["call_settings.max_attempts"][0]).toBe("Debe estar entre 1 y 20.");
    }
    const reversed = schema.safeParse(calls({ start: "12:00", end: "10:00" }));
    expect(reversed.success).toBe(false);
    if (!reversed.success) expect(issuesToFields(reversed.error)).toHaveProperty(["allowed_hours.end"]);
    const zone = schema.safeParse(calls({ timezone: "Europe/Madrid" }));
    expect(zone.success).toBe(false);
    // No profile window: any hours, any zone, Sunday too.
    expect(callSettingsSchema(OPTIONS, NONE).safeParse(calls({ start: "06:00", end: "23:00", days_of_week: [7], timezone: "Europe/Madrid" })).success).toBe(true);
    // Hours switched off are not checked.
    expect(schema.safeParse(calls({ restrict_hours: false, start: "", end: "" })).success).toBe(true);
  });

  it("voice: Retell's ranges and languages, a regional Spanish too", () => {
    const schema = voiceSchema(OPTIONS.voice);
    const good = { voice_id: "", speed: 1, volume: 1, pitch: 0, language: "es-CL" };
    expect(schema.safeParse(good).success).toBe(true);
    expect(schema.safeParse({ ...good, language: "pt-BR" }).success).toBe(true);
    expect(schema.safeParse({ ...good, language: "fr-FR" }).success).toBe(false);
    const bad = schema.safeParse({ ...good, speed: 2.5, volume: -1, pitch: 11, language: "xx" });
    expect(bad.success).toBe(false);
    if (!bad.success) {
      expect(Object.keys(issuesToFields(bad.error, "voice_settings")).sort()).toEqual([
        "voice_settings.language",
        "voice_settings.pitch",
        "voice_settings.speed",
        "voice_settings.volume",
      ]);
    }
  });

  it("schedule: a start in the future for scheduled and recurring runs", () => {
    const now = new Date("2026-12-04T12:00:00Z");
    const base = initialState("retail").schedule;
    expect(scheduleSchema("America/Santiago", now).safeParse(base).success).toBe(true);
    const missing = scheduleSchema("America/Santiago", now).safeParse({ ...base, schedule_type: "scheduled" });
    expect(missing.success).toBe(false);
    const past = scheduleSchema("America/Santiago", now).safeParse({ ...base, schedule_type: "scheduled", scheduled_at: "2026-12-04T08:00" });
    expect(past.success).toBe(false); // 08:00 in Santiago (UTC-3) is 11:00 UTC
    const future = scheduleSchema("America/Santiago", now).safeParse({ ...base, schedule_type: "scheduled", scheduled_at: "2026-12-04T10:00" });
    expect(future.success).toBe(true);
    const recurring = scheduleSchema("America/Santiago", now).safeParse({
      ...base,
      schedule_type: "recurring",
      scheduled_at: "2026-12-05T10:00",
      interval: 0,
      max_runs: "5000",
    });
    expect(recurring.success).toBe(false);
    if (!recurring.success) expect(Object.keys(issuesToFields(recurring.error)).sort()).toEqual(["interval", "max_runs"]);
    const tight = scheduleSchema("America/Santiago", now, { frequencies: ["daily"], max_interval: 7, max_runs: 3 });
    const over = tight.safeParse({ ...base, schedule_type: "recurring", scheduled_at: "2026-12-05T10:00", interval: 8, max_runs: "4" });
    expect(over.success).toBe(false);
  });

  it("offers regional Spanish first, then Retell's languages, named in Spanish", () => {
    const choices = languageOptions(OPTIONS.voice);
    expect(choices.slice(0, 5).map((c) => c.value)).toEqual(["es-CL", "es-AR", "es-MX", "es-CO", "es-PE"]);
    expect(choices.map((c) => c.value)).toContain("pt-BR");
    expect(new Set(choices.map((c) => c.value)).size).toBe(choices.length);
    expect(choices[0].label).toMatch(/español/i);
  });
});

describe("wall times in the campaign's zone", () => {
  it("reads a datetime-local text in the zone, across daylight-saving time", () => {
    expect(wallTimeToUtc("2026-12-05T10:00", "America/Santiago")?.toISOString()).toBe("2026-12-05T13:00:00.000Z");
    expect(wallTimeToUtc("2026-07-01T10:00", "America/Santiago")?.toISOString()).toBe("2026-07-01T14:00:00.000Z");
    expect(wallTimeToUtc("2026-12-05T10:00", "Pacific/Easter")?.toISOString()).toBe("2026-12-05T15:00:00.000Z");
    expect(wallTimeToUtc("mañana", "America/Santiago")).toBeNull();
  });

  it("sends scheduled_at as that instant, recurring_config as the API takes it", () => {
    const state = initialState("retail");
    state.schedule = { ...state.schedule, schedule_type: "recurring", scheduled_at: "2026-12-05T10:00", frequency: "weekly", interval: 2, max_runs: "4" };
    expect(scheduleBody(state)).toEqual({
      schedule_type: "recurring",
      scheduled_at: "2026-12-05T13:00:00.000Z",
      recurring_config: { frequency: "weekly", interval: 2, max_runs: 4 },
      priority: "normal",
    });
  });
});

describe("the sentence of when calls happen", () => {
  it("says the days as ranges and lists", () => {
    expect(daysPhrase([1, 2, 3, 4, 5, 6])).toBe("lunes a sábado");
    expect(daysPhrase([1, 3, 5])).toBe("lunes, miércoles y viernes");
    expect(daysPhrase([6, 7])).toBe("sábado y domingo");
    expect(daysPhrase([1, 2, 3, 5])).toBe("lunes a miércoles y viernes");
    expect(daysPhrase([7, 1, 2, 3, 4, 5, 6])).toBe("todos los días");
  });

  it("says hours, zone and holidays, narrowed by the compliance profile", () => {
    expect(scheduleSentence(calls({ start: "09:00", end: "20:00", days_of_week: [1, 2, 3, 4, 5, 6] }), CL)).toBe(
      "Lunes a sábado de 09:00 a 20:00, hora de Santiago; no en feriados.",
    );
    // No hours of its own: the profile's; Sunday is not a day the profile allows.
    expect(scheduleSentence(calls({ restrict_hours: false, days_of_week: [1, 2, 3, 4, 5, 6, 7] }), CL)).toBe(
      "Lunes a sábado de 08:00 a 20:00, hora de Santiago; no en feriados.",
    );
    expect(scheduleSentence(calls({ start: "07:00", end: "21:00", days_of_week: [1, 2, 3, 4, 5] }), CL)).toBe(
      "Lunes a viernes de 08:00 a 20:00, hora de Santiago; no en feriados.",
    );
    expect(scheduleSentence(calls({ restrict_hours: false, days_of_week: [1, 2, 3, 4, 5, 6, 7], timezone: "Pacific/Easter" }), NONE)).toBe(
      "Todos los días a cualquier hora, hora de Isla de Pascua.",
    );
  });
});

describe("the cost estimate", () => {
  it("is the server's: debtors × (setup + per minute × 2 min), with a maximum over attempts", () => {
    const cost = estimateCost({ debtors: 43, attempts: 3, maxCallSeconds: 600, setup: 50, perMinute: 120 });
    expect(cost.expectedMinutes).toBe(2);
    expect(cost.perDebtor).toBe(290);
    expect(cost.total).toBe(12470);
    expect(cost.maximum).toBe(43 * (3 * 50 + 120 * 10));
    expect(cost.explanation).toContain("43 deudores");
    expect(cost.explanation).toContain("$12.470");
  });

  it("caps the expected call at the maximum duration", () => {
    const cost = estimateCost({ debtors: 10, attempts: 1, maxCallSeconds: 60, setup: 0, perMinute: 100 });
    expect(cost.expectedMinutes).toBe(1);
    expect(cost.total).toBe(1000);
    expect(estimateCost({ debtors: 0, attempts: 3, maxCallSeconds: 600, setup: 50, perMinute: 120 }).total).toBe(0);
  });
});

describe("server errors → step and field", () => {
  it("puts each dotted name on its step, in the wizard's names", () => {
    const mapped = mapServerErrors({
      success: ["false"],
      batch_name: ["Máximo 200 caracteres."],
      script_content: ["Variables desconocidas: saldo."],
      file: ["No es una planilla."],
      "contacts[3].rut": ["RUT inválido."],
      "call_settings.allowed_hours.start": ["Fuera de horario."],
      "call_settings_json.max_attempts": ["Entre 1 y 20."],
      "voice_settings.speed": ["Entre 0,5 y 2."],
      scheduled_at: ["Debe ser en el futuro."],
      "recurring_config.interval": ["Entre 1 y 365."],
      mystery: ["¿?"],
    });
    expect(mapped.firstStep).toBe(0);
    expect(mapped.byStep[0]).toEqual({ name: ["Máximo 200 caracteres."], script_content: ["Variables desconocidas: saldo."] });
    expect(mapped.byStep[1]).toEqual({ file: ["No es una planilla."], "contacts[3].rut": ["RUT inválido."] });
    expect(mapped.byStep[2]).toEqual({
      "call_settings.allowed_hours.start": ["Fuera de horario."],
      "call_settings.max_attempts": ["Entre 1 y 20."],
    });
    expect(mapped.byStep[3]).toEqual({ "voice_settings.speed": ["Entre 0,5 y 2."] });
    expect(mapped.byStep[4]).toEqual({ scheduled_at: ["Debe ser en el futuro."], "recurring_config.interval": ["Entre 1 y 365."] });
    expect(mapped.general).toEqual(["mystery: ¿?"]);
  });

  it("goes to the first step with an error; detail is general", () => {
    const mapped = mapServerErrors({ "call_settings.timezone": ["Zona."], "contacts[0].phones[0]": ["Teléfono."] }, "Revisa.");
    expect(mapped.firstStep).toBe(1);
    expect(mapped.general).toEqual(["Revisa."]);
    expect(mapServerErrors({}).firstStep).toBeNull();
  });

  it("knows each name's step", () => {
    expect(stepOfField("account_id")).toBe(0);
    expect(stepOfField("contacts")).toBe(1);
    expect(stepOfField("column_mapping")).toBe(1);
    expect(stepOfField("call_settings")).toBe(2);
    expect(stepOfField(canonicalField("call_settings.priority"))).toBe(4);
    expect(stepOfField("priority")).toBe(4);
    expect(stepOfField("call_settingsX")).toBeNull();
  });
});

describe("the column mapping", () => {
  const preview = {
    column_mapping: { "Nombre Cliente": "name", RUT: "rut", Teléfono: "phone_1", Celular: "phone_2", Saldo: "custom" },
  } as unknown as Preview;

  it("shows each header's field, phones as phone", () => {
    expect(headerFields(preview)).toEqual({ "Nombre Cliente": "name", RUT: "rut", Teléfono: "phone", Celular: "phone", Saldo: "custom" });
  });

  it("sends every field (null: off) so nothing else is detected", () => {
    const mapping = { ...headerFields(preview), Celular: "custom", Saldo: "debt_amount" };
    expect(fieldMappingFor(mapping)).toEqual({
      name: "Nombre Cliente",
      rut: "RUT",
      phone: ["Teléfono"],
      email: null,
      debt_amount: "Saldo",
      due_date: null,
      installments: null,
      company_name: null,
    });
  });
});
