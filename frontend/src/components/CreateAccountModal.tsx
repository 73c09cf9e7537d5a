/** "+ Nueva Cuenta": the seed's CreateAccountModal, four sections, checked with the options'
 * rules before POST /accounts, the server's errors put back on their fields. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useId, useMemo, useRef, useState, type FormEvent } from "react";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import {
  initialValues,
  placeErrors,
  rulesFromOptions,
  SECTIONS,
  validateAccount,
  type AccountFormValues,
  type PlacedErrors,
  type SectionId,
} from "../lib/accountForm";
import { zoneLabel } from "../lib/format";
import { ErrorMessage, Loading, Modal, Select, TextInput } from "./ui";

export function useOptions() {
  return useQuery({
    queryKey: ["options"],
    queryFn: () => unwrap(api.GET("/api/v1/options")),
    staleTime: 10 * 60_000,
  });
}

const PLAN_HINTS: Record<string, string> = {
  credit_based: "Cada llamada descuenta créditos (pesos) del saldo.",
  minutes_based: "Cada llamada descuenta los minutos hablados del saldo.",
  unlimited: "Sin saldo: las llamadas no se descuentan.",
};

const PLAN_LABELS: Record<string, string> = {
  credit_based: "Créditos",
  minutes_based: "Minutos",
  unlimited: "Ilimitado",
};

export default function CreateAccountModal({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (account: Schemas["Account"]) => void;
}) {
  const options = useOptions();
  return (
    <Modal title="Nueva cuenta" onClose={onClose} wide>
      {options.isPending ? (
        <Loading />
      ) : options.error ? (
        <ErrorMessage error={options.error} />
      ) : (
        <AccountForm options={options.data} onClose={onClose} onCreated={onCreated} />
      )}
    </Modal>
  );
}

function AccountForm({
  options,
  onClose,
  onCreated,
}: {
  options: Schemas["Options"];
  onClose: () => void;
  onCreated: (account: Schemas["Account"]) => void;
}) {
  const rules = useMemo(() => rulesFromOptions(options), [options]);
  const [values, setValues] = useState<AccountFormValues>(() => initialValues(rules));
  const [errors, setErrors] = useState<PlacedErrors>({ fields: {}, sections: [], general: [] });
  const formRef = useRef<HTMLFormElement>(null);
  const formId = useId();

  const create = useMutation({
    mutationFn: (body: Schemas["AccountCreateRequest"]) =>
      unwrap(api.POST("/api/v1/accounts", { body })),
    onSuccess: onCreated,
    onError: (error) => {
      const placed =
        error instanceof ApiError
          ? placeErrors(error.fields, error.detail)
          : placeErrors({}, error instanceof Error ? error.message : String(error));
      show(placed);
    },
  });

  function show(placed: PlacedErrors) {
    setErrors(placed);
    // Focus the first field in error once React has marked it, else the summary.
    requestAnimationFrame(() => {
      const form = formRef.current;
      const target =
        form?.querySelector<HTMLElement>("[aria-invalid=true]") ??
        form?.querySelector<HTMLElement>(".form-errors");
      target?.focus();
    });
  }

  function set<K extends keyof AccountFormValues>(key: K, value: AccountFormValues[K]) {
    setValues((current) => ({ ...current, [key]: value }));
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const result = validateAccount(values, rules);
    if (!result.ok) {
      show(placeErrors(result.errors));
      return;
    }
    setErrors({ fields: {}, sections: [], general: [] });
    create.mutate(result.payload);
  }

  const err = (name: string) => errors.fields[name];
  const profile = options.compliance_profiles.find((p) => p.code === values.settings.compliance_profile);
  const zones = profile?.time_zones ?? [];
  const { minimum, maximum } = rules.concurrent;
  const sectionTitle = (id: SectionId) => SECTIONS.find((s) => s.id === id)?.title ?? id;
  const hasErrors = errors.general.length > 0 || errors.sections.length > 0;

  function onProfile(code: string) {
    const next = options.compliance_profiles.find((p) => p.code === code);
    const nextZones = next?.time_zones ?? [];
    setValues((current) => ({
      ...current,
      settings: {
        compliance_profile: code,
        timezone: nextZones.includes(current.settings.timezone)
          ? current.settings.timezone
          : nextZones.includes("America/Santiago")
            ? "America/Santiago"
            : (nextZones[0] ?? ""),
      },
    }));
  }

  return (
    <form id={formId} ref={formRef} onSubmit={onSubmit} noValidate className="account-form">
      {hasErrors && (
        <div className="alert alert-error form-errors" role="alert" tabIndex={-1}>
          <p className="form-errors-title">Revisa los datos de la cuenta:</p>
          <ul>
            {errors.sections.map((id) => (
              <li key={id}>{sectionTitle(id)}</li>
            ))}
            {errors.general.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </div>
      )}

      <fieldset className={errors.sections.includes("company") ? "section-invalid" : undefined}>
        <legend>1. Empresa y contacto</legend>
        <div className="form-grid">
          <TextInput
            label="Nombre de la empresa"
            value={values.account_name}
            onChange={(e) => set("account_name", e.target.value)}
            errors={err("account_name")}
            maxLength={200}
            autoComplete="organization"
            required
          />
          <TextInput
            label="Nombre de contacto"
            value={values.contact_name}
            onChange={(e) => set("contact_name", e.target.value)}
            errors={err("contact_name")}
            maxLength={200}
            autoComplete="name"
            required
          />
          <TextInput
            label="Email de contacto"
            type="email"
            value={values.contact_email}
            onChange={(e) => set("contact_email", e.target.value)}
            errors={err("contact_email")}
            autoComplete="email"
            required
          />
          <TextInput
            label="Teléfono de contacto (opcional)"
            type="tel"
            value={values.contact_phone}
            onChange={(e) => set("contact_phone", e.target.value)}
            errors={err("contact_phone")}
            hint="Por ejemplo +56912345678."
            maxLength={20}
            autoComplete="tel"
          />
        </div>
      </fieldset>

      <fieldset className={errors.sections.includes("plan") ? "section-invalid" : undefined}>
        <legend>2. Plan y facturación</legend>
        <div className="form-grid">
          <Select
            label="Plan"
            value={values.plan_type}
            onChange={(e) => set("plan_type", e.target.value)}
            errors={err("plan_type")}
            hint={PLAN_HINTS[values.plan_type]}
            options={options.plan_types.map((plan) => ({
              value: plan.value,
              label: PLAN_LABELS[plan.value] ?? plan.label,
            }))}
          />
          {values.plan_type === "credit_based" && (
            <TextInput
              label="Créditos iniciales (CLP)"
              inputMode="decimal"
              value={values.initial_credits}
              onChange={(e) => set("initial_credits", e.target.value)}
              errors={err("initial_credits")}
              hint="Opcional. Se registra como una recarga."
            />
          )}
          {values.plan_type === "minutes_based" && (
            <TextInput
              label="Minutos iniciales"
              inputMode="decimal"
              value={values.initial_minutes}
              onChange={(e) => set("initial_minutes", e.target.value)}
              errors={err("initial_minutes")}
              hint="Opcional. Se registra como una recarga."
            />
          )}
        </div>
      </fieldset>

      <fieldset className={errors.sections.includes("limits") ? "section-invalid" : undefined}>
        <legend>3. Límites técnicos</legend>
        <div className="form-grid">
          <TextInput
            label="Llamadas simultáneas máximas"
            type="number"
            inputMode="numeric"
            min={minimum}
            max={maximum}
            step={1}
            value={values.features.max_concurrent_calls}
            onChange={(e) => set("features", { max_concurrent_calls: e.target.value })}
            errors={err("features.max_concurrent_calls")}
            hint={`Entre ${minimum} y ${maximum}.`}
          />
        </div>
      </fieldset>

      <fieldset className={errors.sections.includes("regional") ? "section-invalid" : undefined}>
        <legend>4. Configuración regional</legend>
        <div className="form-grid">
          <Select
            label="Perfil de cumplimiento"
            value={values.settings.compliance_profile}
            onChange={(e) => onProfile(e.target.value)}
            errors={err("settings.compliance_profile")}
            hint={profile?.hours ? `Llamadas entre ${profile.hours.start} y ${profile.hours.end}, hora local.` : undefined}
            options={options.compliance_profiles.map((p) => ({ value: p.code, label: p.label }))}
          />
          <Select
            label="Zona horaria"
            value={values.settings.timezone}
            onChange={(e) => set("settings", { ...values.settings, timezone: e.target.value })}
            errors={err("settings.timezone")}
            options={zones.map((zone) => ({
              value: zone,
              label: zoneLabel(zone) === zone ? zone : `${zone} (${zoneLabel(zone)})`,
            }))}
          />
        </div>
      </fieldset>

      <div className="form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancelar
        </button>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Creando…" : "Crear cuenta"}
        </button>
      </div>
    </form>
  );
}
