/**
 * The new-account form (the seed's CreateAccountModal): its values, the zod schema that checks
 * them with the rules GET /options publishes (plans, compliance profiles and their zones, the
 * concurrency range) and the serializer's limits, the POST body it produces, and where each
 * error goes: field names are the API's dotted names ("settings.timezone"), for the form's own
 * errors and the server's (ApiError.fields) alike, and each belongs to one of four sections.
 */
import * as z from "zod";
import type { Schemas } from "../api/client";

export type AccountFormValues = {
  account_name: string;
  contact_name: string;
  contact_email: string;
  contact_phone: string;
  plan_type: string;
  initial_credits: string;
  initial_minutes: string;
  features: { max_concurrent_calls: string };
  settings: { timezone: string; compliance_profile: string };
};

export type AccountPayload = Schemas["AccountCreateRequest"];

/** What the form needs from GET /options. */
export type AccountRules = {
  planTypes: string[];
  profiles: { code: string; time_zones: string[] }[];
  concurrent: { minimum: number; maximum: number; default: number | null };
  defaultProfile: string;
};

export function rulesFromOptions(options: Schemas["Options"]): AccountRules {
  return {
    planTypes: options.plan_types.map((plan) => plan.value),
    profiles: options.compliance_profiles.map(({ code, time_zones }) => ({ code, time_zones })),
    concurrent: options.limits.max_concurrent_calls,
    defaultProfile: options.default_compliance_profile,
  };
}

export const DEFAULT_TIMEZONE = "America/Santiago";

export function initialValues(rules: AccountRules): AccountFormValues {
  const profile = rules.profiles.find((p) => p.code === rules.defaultProfile) ?? rules.profiles[0];
  const zones = profile?.time_zones ?? [];
  return {
    account_name: "",
    contact_name: "",
    contact_email: "",
    contact_phone: "",
    plan_type: rules.planTypes[0] ?? "credit_based",
    initial_credits: "",
    initial_minutes: "",
    features: { max_concurrent_calls: String(rules.concurrent.default ?? 5) },
    settings: {
      timezone: zones.includes(DEFAULT_TIMEZONE) ? DEFAULT_TIMEZONE : (zones[0] ?? DEFAULT_TIMEZONE),
      compliance_profile: profile?.code ?? "CL",
    },
  };
}

// --- Amounts typed the Chilean way ------------------------------------------------------------

const MAX_INTEGER_DIGITS = 12;
const MAX_DECIMALS = 4;

/**
 * "10000", "10.000", "1.500,25" or "1500.25" → the number; null when it is not an amount.
 * A comma is the decimal mark; dots are thousands separators when they group by three.
 */
export function parseAmount(text: string): number | null {
  let value = text.trim().replace(/\s/g, "");
  if (!value) return null;
  if (value.includes(",")) {
    if (!/^\d{1,3}(\.\d{3})*(,\d+)?$/.test(value) && !/^\d+(,\d+)?$/.test(value)) return null;
    value = value.replace(/\./g, "").replace(",", ".");
  } else if (/^\d{1,3}(\.\d{3})+$/.test(value)) {
    value = value.replace(/\./g, "");
  }
  if (!/^\d+(\.\d+)?$/.test(value)) return null;
  const [whole, decimals = ""] = value.split(".");
  if (whole.replace(/^0+(?=\d)/, "").length > MAX_INTEGER_DIGITS || decimals.length > MAX_DECIMALS) {
    return null;
  }
  return Number(value);
}

const AMOUNT_ERROR = `Ingresa un monto sin signo, con hasta ${MAX_DECIMALS} decimales (por ejemplo 10.000 o 1500,5).`;

/** An optional amount ≥ 0 (blank: none) or one > 0 (top-ups). */
export function amountSchema({ positive = false }: { positive?: boolean } = {}) {
  return z.string().superRefine((text, ctx) => {
    if (!text.trim()) return;
    const amount = parseAmount(text);
    if (amount === null) ctx.addIssue({ code: "custom", message: AMOUNT_ERROR });
    else if (positive && amount <= 0) ctx.addIssue({ code: "custom", message: "Debe ser mayor que cero." });
  });
}

// --- The schema -------------------------------------------------------------------------------

const required = (message: string, max: number) =>
  z
    .string()
    .trim()
    .min(1, message)
    .max(max, `Como máximo ${max} caracteres.`);

export const PHONE_PATTERN = /^\+?[0-9][0-9 ()-]{6,18}$/;

export function accountSchema(rules: AccountRules) {
  const { minimum, maximum } = rules.concurrent;
  return z
    .object({
      account_name: required("Ingresa el nombre de la empresa.", 200),
      contact_name: required("Ingresa el nombre de contacto.", 200),
      contact_email: z
        .string()
        .trim()
        .min(1, "Ingresa el email de contacto.")
        .max(254, "Como máximo 254 caracteres.")
        .pipe(z.email("Ingresa un email válido, por ejemplo nombre@empresa.cl.")),
      contact_phone: z
        .string()
        .trim()
        .max(20, "Como máximo 20 caracteres.")
        .refine((phone) => !phone || PHONE_PATTERN.test(phone), "Ingresa un teléfono, por ejemplo +56912345678."),
      plan_type: z.string().refine((plan) => rules.planTypes.includes(plan), "Elige un plan."),
      initial_credits: amountSchema(),
      initial_minutes: amountSchema(),
      features: z.object({
        max_concurrent_calls: z
          .string()
          .trim()
          .refine((text) => {
            if (!/^\d+$/.test(text)) return false;
            const n = Number(text);
            return n >= minimum && n <= maximum;
          }, `Ingresa un número entero entre ${minimum} y ${maximum}.`),
      }),
      settings: z.object({
        timezone: z.string().min(1, "Elige una zona horaria."),
        compliance_profile: z
          .string()
          .refine((code) => rules.profiles.some((p) => p.code === code), "Elige un perfil de cumplimiento."),
      }),
    })
    .superRefine((values, ctx) => {
      const profile = rules.profiles.find((p) => p.code === values.settings.compliance_profile);
      if (profile && values.settings.timezone && !profile.time_zones.includes(values.settings.timezone)) {
        ctx.addIssue({
          code: "custom",
          path: ["settings", "timezone"],
          message: "La zona horaria no corresponde al perfil de cumplimiento elegido.",
        });
      }
    })
    .transform((values): AccountPayload => {
      const body: AccountPayload = {
        account_name: values.account_name,
        contact_name: values.contact_name,
        contact_email: values.contact_email,
        plan_type: values.plan_type as AccountPayload["plan_type"],
        features: { max_concurrent_calls: Number(values.features.max_concurrent_calls) },
        settings: {
          timezone: values.settings.timezone,
          compliance_profile: values.settings.compliance_profile as NonNullable<
            AccountPayload["settings"]
          >["compliance_profile"],
        },
      };
      if (values.contact_phone) body.contact_phone = values.contact_phone;
      // Only the chosen plan's initial balance is sent.
      const credits = parseAmount(values.initial_credits);
      const minutes = parseAmount(values.initial_minutes);
      if (values.plan_type === "credit_based" && credits) body.initial_credits = credits;
      if (values.plan_type === "minutes_based" && minutes) body.initial_minutes = minutes;
      return body;
    });
}

export type FieldErrors = Record<string, string[]>;

/** The form's values → the POST body, or the errors by dotted field name. */
export function validateAccount(
  values: AccountFormValues,
  rules: AccountRules,
): { ok: true; payload: AccountPayload } | { ok: false; errors: FieldErrors } {
  const result = accountSchema(rules).safeParse(values);
  if (result.success) return { ok: true, payload: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const name = issue.path.map(String).join(".");
    (errors[name] ??= []).push(issue.message);
  }
  return { ok: false, errors };
}

// --- Sections and server errors ----------------------------------------------------------------

export type SectionId = "company" | "plan" | "limits" | "regional";

export const SECTIONS: { id: SectionId; title: string }[] = [
  { id: "company", title: "Empresa y contacto" },
  { id: "plan", title: "Plan y facturación" },
  { id: "limits", title: "Límites técnicos" },
  { id: "regional", title: "Configuración regional" },
];

/** Each field the form shows, in its section. */
export const FIELD_SECTIONS: Record<string, SectionId> = {
  account_name: "company",
  account_id: "company",
  contact_name: "company",
  contact_email: "company",
  contact_phone: "company",
  plan_type: "plan",
  initial_credits: "plan",
  initial_minutes: "plan",
  cost_per_call_setup: "plan",
  cost_per_minute: "plan",
  "features.max_concurrent_calls": "limits",
  "settings.timezone": "regional",
  "settings.compliance_profile": "regional",
};

/** A server field name the form has no input for is said on top of the form. */
const FIELD_LABELS: Record<string, string> = {
  account_id: "Identificador",
  cost_per_call_setup: "Costo por llamada",
  cost_per_minute: "Costo por minuto",
  features: "Límites técnicos",
  settings: "Configuración regional",
};

export type PlacedErrors = {
  /** Errors by dotted field name, for the fields the form shows. */
  fields: FieldErrors;
  /** The sections holding at least one error, in the form's order. */
  sections: SectionId[];
  /** What no field of the form can show: the general message and unknown fields. */
  general: string[];
};

/** The 400's errors (or the form's own) placed on their fields and sections. */
export function placeErrors(fields: FieldErrors, detail: string | null = null): PlacedErrors {
  const placed: PlacedErrors = { fields: {}, sections: [], general: detail ? [detail] : [] };
  const sections = new Set<SectionId>();
  const shown = new Set(["account_name", "contact_name", "contact_email", "contact_phone", "plan_type",
    "initial_credits", "initial_minutes", "features.max_concurrent_calls", "settings.timezone",
    "settings.compliance_profile"]);
  for (const [name, messages] of Object.entries(fields)) {
    const section = FIELD_SECTIONS[name] ?? FIELD_SECTIONS[name.split(".")[0]];
    if (section) sections.add(section);
    if (shown.has(name)) placed.fields[name] = [...(placed.fields[name] ?? []), ...messages];
    // The id is made from the name: a taken id is the name's problem.
    else if (name === "account_id") placed.fields.account_name = [...(placed.fields.account_name ?? []), ...messages];
    else placed.general.push(`${FIELD_LABELS[name] ?? name}: ${messages.join(" ")}`);
  }
  placed.sections = SECTIONS.map((s) => s.id).filter((id) => sections.has(id));
  return placed;
}
