import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api/client";
import {
  accountSchema,
  initialValues,
  parseAmount,
  placeErrors,
  rulesFromOptions,
  validateAccount,
  type AccountFormValues,
  type AccountRules,
} from "../src/lib/accountForm";
import type { Schemas } from "../src/api/client";

// The parts of GET /options the form reads (the server's real values for these keys).
const OPTIONS = {
  compliance_profiles: [
    { code: "CL", label: "Chile", country: "CL", time_zones: ["America/Punta_Arenas", "America/Santiago", "Pacific/Easter"], hours: { start: "08:00", end: "20:00" }, days_of_week: [1, 2, 3, 4, 5, 6], holidays_country: "CL", max_answered_contacts_per_7d: 2, max_attempts_per_7d: null },
    { code: "US", label: "Estados Unidos", country: "US", time_zones: ["America/Chicago", "America/New_York"], hours: null, days_of_week: null, holidays_country: null, max_answered_contacts_per_7d: null, max_attempts_per_7d: 7 },
    { code: "none", label: "Ninguno", country: null, time_zones: ["America/Santiago", "Europe/Madrid", "UTC"], hours: null, days_of_week: null, holidays_country: null, max_answered_contacts_per_7d: null, max_attempts_per_7d: null },
  ],
  default_compliance_profile: "CL",
  limits: { max_concurrent_calls: { minimum: 1, maximum: 50, default: 5 } },
  plan_types: [
    { value: "credit_based", label: "Basado en créditos" },
    { value: "minutes_based", label: "Basado en minutos" },
    { value: "unlimited", label: "Ilimitado" },
  ],
} as unknown as Schemas["Options"];

const rules: AccountRules = rulesFromOptions(OPTIONS);

function form(overrides: Partial<AccountFormValues> = {}): AccountFormValues {
  return {
    ...initialValues(rules),
    account_name: "Empresa XYZ",
    contact_name: "María González",
    contact_email: "maria@empresaxyz.cl",
    contact_phone: "+56987654321",
    initial_credits: "1.000",
    ...overrides,
  };
}

function errorsOf(values: AccountFormValues) {
  const result = validateAccount(values, rules);
  if (result.ok) throw new Error("expected errors");
  return result.errors;
}

describe("the new account's schema", () => {
  it("starts from the options' defaults", () => {
    const values = initialValues(rules);
    expect(values.plan_type).toBe("credit_based");
    expect(values.features.max_concurrent_calls).toBe("5");
    expect(values.settings).toEqual({ timezone: "America/Santiago", compliance_profile: "CL" });
  });

  it("turns a valid form into the seed's POST body", () => {
    const result = validateAccount(form(), rules);
    expect(result).toEqual({
      ok: true,
      payload: {
        account_name: "Empresa XYZ",
        contact_name: "María González",
        contact_email: "maria@empresaxyz.cl",
        contact_phone: "+56987654321",
        plan_type: "credit_based",
        initial_credits: 1000,
        features: { max_concurrent_calls: 5 },
        settings: { timezone: "America/Santiago", compliance_profile: "CL" },
      },
    });
  });

  it("sends only the chosen plan's initial balance, and none for unlimited", () => {
    const both = { initial_credits: "500", initial_minutes: "90" };
    const minutes = validateAccount(form({ ...both, plan_type: "minutes_based" }), rules);
    expect(minutes.ok && minutes.payload).toMatchObject({ initial_minutes: 90 });
    expect(minutes.ok && "initial_credits" in minutes.payload).toBe(false);
    const unlimited = validateAccount(form({ ...both, plan_type: "unlimited" }), rules);
    expect(unlimited.ok && unlimited.payload).not.toHaveProperty("initial_credits");
    expect(unlimited.ok && unlimited.payload).not.toHaveProperty("initial_minutes");
    const blank = validateAccount(form({ initial_credits: "" }), rules);
    expect(blank.ok && blank.payload).not.toHaveProperty("initial_credits");
    const noPhone = validateAccount(form({ contact_phone: "  " }), rules);
    expect(noPhone.ok && noPhone.payload).not.toHaveProperty("contact_phone");
  });

  it("names every wrong field at once, with the API's dotted names", () => {
    const errors = errorsOf(
      form({
        account_name: "  ",
        contact_email: "maria@",
        contact_phone: "llámame",
        plan_type: "gold",
        features: { max_concurrent_calls: "51" },
        settings: { timezone: "Europe/Madrid", compliance_profile: "CL" },
      }),
    );
    expect(Object.keys(errors).sort()).toEqual([
      "account_name",
      "contact_email",
      "contact_phone",
      "features.max_concurrent_calls",
      "plan_type",
      "settings.timezone",
    ]);
    expect(errors.contact_email[0]).toMatch(/email válido/);
    expect(errors["features.max_concurrent_calls"][0]).toBe("Ingresa un número entero entre 1 y 50.");
    expect(errors["settings.timezone"][0]).toMatch(/perfil de cumplimiento/);
  });

  it("keeps the concurrency within the options' range, whole numbers only", () => {
    for (const bad of ["0", "51", "2.5", "", "-3", "cinco"]) {
      expect(errorsOf(form({ features: { max_concurrent_calls: bad } }))).toHaveProperty(
        "features.max_concurrent_calls",
      );
    }
    for (const good of ["1", "50", " 12 "]) {
      expect(validateAccount(form({ features: { max_concurrent_calls: good } }), rules).ok).toBe(true);
    }
  });

  it("accepts a zone of the chosen profile only, and a profile of the options only", () => {
    const us = { timezone: "America/Chicago", compliance_profile: "US" };
    expect(validateAccount(form({ settings: us }), rules).ok).toBe(true);
    expect(errorsOf(form({ settings: { ...us, compliance_profile: "CL" } }))).toHaveProperty("settings.timezone");
    expect(errorsOf(form({ settings: { ...us, compliance_profile: "AR" } }))).toHaveProperty(
      "settings.compliance_profile",
    );
  });

  it("limits the texts like the serializer", () => {
    expect(errorsOf(form({ account_name: "x".repeat(201) })).account_name[0]).toMatch(/200/);
    expect(errorsOf(form({ contact_phone: "+5691234567890123456789" }))).toHaveProperty("contact_phone");
    expect(accountSchema(rules).safeParse(form({ contact_email: " ana@retail.cl " })).data?.contact_email).toBe(
      "ana@retail.cl",
    );
  });

  it("refuses a negative or malformed initial balance", () => {
    for (const bad of ["-5", "1,2,3", "abc", "1.0000000000000", "10.5.5"]) {
      expect(errorsOf(form({ initial_credits: bad }))).toHaveProperty("initial_credits");
    }
  });
});

describe("amounts typed the Chilean way", () => {
  it("reads thousands dots and decimal commas", () => {
    expect(parseAmount("10000")).toBe(10000);
    expect(parseAmount("10.000")).toBe(10000);
    expect(parseAmount("1.500.000")).toBe(1500000);
    expect(parseAmount("1.500,25")).toBe(1500.25);
    expect(parseAmount("1500,5")).toBe(1500.5);
    expect(parseAmount("1500.25")).toBe(1500.25);
    expect(parseAmount(" 2 500 ")).toBe(2500);
    expect(parseAmount("")).toBeNull();
    expect(parseAmount("1,23456")).toBeNull(); // more than 4 decimals
    expect(parseAmount("1234567890123")).toBeNull(); // more than 12 digits
  });
});

describe("errors placed on their fields and sections", () => {
  it("puts the server's dotted field errors in their sections", () => {
    const error = new ApiError(400, {
      contact_email: ["Introduzca una dirección de correo electrónico válida."],
      "features.max_concurrent_calls": ["Asegúrese de que este valor es menor o igual a 50."],
      "settings.timezone": ["Zona horaria desconocida."],
    });
    const placed = placeErrors(error.fields, error.detail);
    expect(placed.sections).toEqual(["company", "limits", "regional"]);
    expect(placed.fields["settings.timezone"]).toEqual(["Zona horaria desconocida."]);
    expect(placed.fields.contact_email).toHaveLength(1);
    expect(placed.general).toEqual([]);
  });

  it("says a taken id on the name it was made from", () => {
    const placed = placeErrors({ account_id: ["Ya existe una cuenta con este identificador."] });
    expect(placed.fields.account_name).toEqual(["Ya existe una cuenta con este identificador."]);
    expect(placed.sections).toEqual(["company"]);
  });

  it("keeps what no field shows as a general message, in the right section", () => {
    const placed = placeErrors(
      { initial_credits: ["Necesitas el permiso accounts.topup_account."], cost_per_minute: ["Debe ser ≥ 0."] },
      null,
    );
    expect(placed.sections).toEqual(["plan"]);
    expect(placed.fields.initial_credits).toHaveLength(1);
    expect(placed.general).toEqual(["Costo por minuto: Debe ser ≥ 0."]);
    const forbidden = new ApiError(403, { detail: "No tienes permiso." });
    expect(placeErrors(forbidden.fields, forbidden.detail)).toEqual({
      fields: {},
      sections: [],
      general: ["No tienes permiso."],
    });
  });

  it("places the form's own errors the same way", () => {
    const result = validateAccount(form({ contact_email: "malo", settings: { timezone: "UTC", compliance_profile: "CL" } }), rules);
    expect(result.ok).toBe(false);
    const placed = placeErrors(result.ok ? {} : result.errors);
    expect(placed.sections).toEqual(["company", "regional"]);
  });
});
