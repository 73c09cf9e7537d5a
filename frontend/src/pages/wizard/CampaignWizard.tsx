/** "+ Nueva Campaña": five steps (basics, contacts, call settings, voice, schedule and review),
 * state kept when going back, client checks with zod, server errors put back on their step
 * and field. Creates with excel/create (the kept File) or POST /batches (typed contacts). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, ApiError, send, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth";
import { ErrorMessage, Loading } from "../../components/ui";
import {
  basicsSchema,
  batchCreateBody,
  callDefaults,
  callSettingsSchema,
  excelCreateForm,
  issuesToFields,
  manualContactsSchema,
  mapServerErrors,
  sameMapping,
  scheduleSchema,
  STEPS,
  unknownVariables,
  voiceSchema,
  initialState,
  type FieldErrors,
  type StepIndex,
  type WizardState,
} from "./model";
import StepBasics from "./StepBasics";
import StepCalls from "./StepCalls";
import StepContacts from "./StepContacts";
import StepSchedule from "./StepSchedule";
import StepVoice from "./StepVoice";

type StepErrors = Record<StepIndex, FieldErrors>;
const NO_ERRORS: StepErrors = { 0: {}, 1: {}, 2: {}, 3: {}, 4: {} };

export type StepProps = {
  state: WizardState;
  update: <K extends keyof WizardState>(key: K, patch: Partial<WizardState[K]>) => void;
  errors: FieldErrors;
  options: Schemas["Options"];
  account: Schemas["Account"] | undefined;
  profile: Schemas["ComplianceProfile"] | undefined;
  goTo: (step: StepIndex) => void;
};

export default function CampaignWizard() {
  const { me, accountId } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const isStaff = !!me?.is_staff;
  const [state, setState] = useState<WizardState>(() => initialState(isStaff ? accountId : (me?.account_id ?? "")));
  const [step, setStep] = useState<StepIndex>(0);
  const [visited, setVisited] = useState<StepIndex>(0);
  const [errors, setErrors] = useState<StepErrors>(NO_ERRORS);
  const [general, setGeneral] = useState<string[]>([]);
  const [defaultsFor, setDefaultsFor] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const focusInvalid = useRef(false);

  const options = useQuery({
    queryKey: ["options"],
    queryFn: () => unwrap(api.GET("/api/v1/options")),
    staleTime: 10 * 60_000,
  });
  const chosen = state.basics.account_id;
  const account = useQuery({
    queryKey: ["account", chosen],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/{account_id}", { params: { path: { account_id: chosen } } })),
    enabled: !!chosen,
    staleTime: 60_000,
  });
  const profileCode = account.data?.settings.compliance_profile ?? options.data?.default_compliance_profile;
  const profile = options.data?.compliance_profiles.find((p) => p.code === profileCode);

  // The call settings start from /options' defaults inside the account's window and zone.
  useEffect(() => {
    if (!options.data || !account.data || defaultsFor === account.data.account_id) return;
    setDefaultsFor(account.data.account_id);
    setState((s) => ({
      ...s,
      call_settings: callDefaults(options.data, profile, account.data.settings.timezone ?? "America/Santiago"),
    }));
  }, [options.data, account.data, profile, defaultsFor]);

  // After a step change or failed check: the heading (or the first invalid field) gets focus.
  useEffect(() => {
    if (focusInvalid.current) {
      focusInvalid.current = false;
      const invalid = document.querySelector<HTMLElement>("#wizard-step [aria-invalid='true']");
      if (invalid) {
        invalid.focus();
        return;
      }
    }
    headingRef.current?.focus();
  }, [step, errors]);

  const update: StepProps["update"] = (key, patch) => {
    setState((s) => ({ ...s, [key]: { ...s[key], ...patch } }));
    // Editing a field clears its errors (client's or server's).
    const names = Object.keys(patch);
    setErrors((all) => {
      const next = { ...all };
      for (const s of [0, 1, 2, 3, 4] as StepIndex[]) {
        const kept = Object.fromEntries(
          Object.entries(all[s]).filter(([name]) => !names.some((n) => touches(name, key, n))),
        );
        if (Object.keys(kept).length !== Object.keys(all[s]).length) next[s] = kept;
      }
      return next;
    });
  };

  const create = useMutation({
    mutationFn: async () => {
      if (state.contacts.mode === "file") {
        return send<Schemas["BatchCreateResponse"]>("/api/v1/batches/excel/create", {
          method: "POST",
          body: excelCreateForm(state, isStaff),
        });
      }
      return unwrap(api.POST("/api/v1/batches", { body: batchCreateBody(state) }));
    },
    onSuccess: (result) => {
      // Lists, counts and balances have changed: refetch everything but the session and options.
      void queryClient.invalidateQueries({
        predicate: (query) => !["me", "options"].includes(String(query.queryKey[0])),
      });
      navigate(`/campaigns/${result.batch_id}`);
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) {
        setGeneral([String(error)]);
        return;
      }
      const { errors: rows, ...fields } = error.fields;
      const mapped = mapServerErrors(fields, error.detail);
      if (rows) mapped.general.push("Ninguna fila del archivo es válida: revisa el paso Contactos.");
      setErrors(mapped.byStep);
      setGeneral(mapped.general);
      if (mapped.firstStep !== null) {
        focusInvalid.current = true;
        setStep(mapped.firstStep);
      }
    },
  });

  if (options.isPending) return <Loading />;
  if (options.isError) return <ErrorMessage error={options.error} />;

  function check(index: StepIndex): FieldErrors {
    const opts = options.data!;
    const known = opts.script_variables.map((v) => v.name);
    switch (index) {
      case 0: {
        const result = basicsSchema(known, null).safeParse(state.basics);
        return result.success ? {} : issuesToFields(result.error);
      }
      case 1: {
        const c = state.contacts;
        const out: FieldErrors = {};
        if (c.mode === "manual") {
          const result = manualContactsSchema.safeParse({ contacts: c.rows });
          if (!result.success) Object.assign(out, issuesToFields(result.error));
        } else if (!c.file) {
          out.file = ["Elige un archivo Excel con los deudores."];
        } else if (!c.preview) {
          out.file = ["Espera la vista previa del archivo."];
        } else if (!c.preview.success) {
          out.file = ["Ninguna fila del archivo es válida: corrige el archivo o la asignación de columnas."];
        } else if (c.mapping && !sameMapping(c.mapping, c.previewedMapping)) {
          out.column_mapping = ["Cambiaste la asignación de columnas: vuelve a previsualizar antes de seguir."];
        }
        // With the columns known, the script's variables are checked as the server will.
        const custom = c.mode === "file" ? (c.preview?.custom_columns ?? []) : [];
        const unknown = unknownVariables(state.basics.script_content, known, custom);
        if (unknown.length && !Object.keys(out).length) {
          out.script_variables = [
            `El guion usa ${unknown.map((v) => `{{${v}}}`).join(", ")}, que ${c.mode === "file" ? "tu archivo no trae" : "no existe"}: corrige el guion (paso 1) o ${c.mode === "file" ? "el archivo" : "usa un archivo con esa columna"}.`,
          ];
        }
        return out;
      }
      case 2: {
        const result = callSettingsSchema(opts, profile).safeParse(state.call_settings);
        return result.success ? {} : issuesToFields(result.error, "call_settings");
      }
      case 3: {
        const result = voiceSchema(opts.voice).safeParse(state.voice);
        return result.success ? {} : issuesToFields(result.error, "voice_settings");
      }
      case 4: {
        const result = scheduleSchema(state.call_settings.timezone, new Date(), opts.recurring).safeParse(state.schedule);
        if (result.success) return {};
        const fields = issuesToFields(result.error);
        return Object.fromEntries(
          Object.entries(fields).map(([k, v]) => [
            ["frequency", "interval", "end_date", "max_runs"].includes(k) ? `recurring_config.${k}` : k,
            v,
          ]),
        );
      }
    }
  }

  function goTo(target: StepIndex) {
    setGeneral([]);
    setStep(target);
  }

  function next() {
    const found = check(step);
    setErrors((all) => ({
      ...all,
      [step]: found,
      // An unknown variable is fixed in the script (step 1) or the file: both are marked.
      ...(found.script_variables ? { 0: { ...all[0], script_content: found.script_variables } } : {}),
    }));
    if (Object.keys(found).length) {
      focusInvalid.current = true;
      return;
    }
    const target = (step + 1) as StepIndex;
    setVisited((v) => (target > v ? target : v));
    goTo(target);
  }

  function submit() {
    for (const index of [0, 1, 2, 3, 4] as StepIndex[]) {
      const found = check(index);
      if (Object.keys(found).length) {
        setErrors((all) => ({ ...all, [index]: found }));
        focusInvalid.current = true;
        goTo(index);
        return;
      }
    }
    setGeneral([]);
    create.mutate();
  }

  const props: StepProps = {
    state,
    update,
    errors: errors[step],
    options: options.data,
    account: account.data,
    profile,
    goTo,
  };
  const stepErrorCount = (index: StepIndex) => Object.keys(errors[index]).length;

  return (
    <div className="wizard">
      <div className="page-header">
        <h1>Nueva campaña</h1>
        <Link to="/campaigns" className="btn">
          Cancelar
        </Link>
      </div>
      <nav aria-label="Pasos de la nueva campaña">
        <ol className="steps">
          {STEPS.map((item, i) => {
            const index = i as StepIndex;
            const bad = stepErrorCount(index) > 0;
            // Done: a step the user has gone past (its check passed); the furthest is not.
            const status = bad ? "step-error" : index < visited ? "step-done" : "";
            const label = (
              <>
                <span className="step-number">{i + 1}.</span> {item.label}
                {bad && <span className="visually-hidden"> (con errores)</span>}
                {bad && <span aria-hidden="true" className="step-warn">⚠</span>}
              </>
            );
            return (
              <li
                key={item.id}
                aria-current={index === step ? "step" : undefined}
                className={index === step ? (bad ? "step-error" : "") : status}
              >
                {index !== step && index <= visited ? (
                  <button type="button" className="step-link" onClick={() => goTo(index)}>
                    {label}
                  </button>
                ) : (
                  label
                )}
              </li>
            );
          })}
        </ol>
      </nav>

      <form
        id="wizard-step"
        className="card wizard-step"
        noValidate
        aria-labelledby="wizard-step-title"
        onSubmit={(event) => {
          event.preventDefault();
          if (step === 4) submit();
          else next();
        }}
      >
        <h2 id="wizard-step-title" ref={headingRef} tabIndex={-1}>
          Paso {step + 1} de {STEPS.length}: {STEPS[step].label}
        </h2>
        {stepErrorCount(step) > 0 && (
          <div className="alert alert-error" role="alert">
            Revisa {stepErrorCount(step) === 1 ? "el campo marcado" : `los ${stepErrorCount(step)} campos marcados`} en este paso.
          </div>
        )}
        {general.length > 0 && (
          <div className="alert alert-error" role="alert">
            {general.join(" ")}
          </div>
        )}
        {step === 0 && <StepBasics {...props} />}
        {step === 1 && <StepContacts {...props} />}
        {step === 2 && <StepCalls {...props} />}
        {step === 3 && <StepVoice {...props} />}
        {step === 4 && <StepSchedule {...props} allErrors={errors} />}

        <div className="wizard-nav">
          {step > 0 && (
            <button type="button" className="btn" onClick={() => goTo((step - 1) as StepIndex)}>
              ‹ Atrás
            </button>
          )}
          {step < 4 ? (
            <button type="submit" className="btn btn-primary">
              Siguiente ›
            </button>
          ) : (
            <button type="submit" className="btn btn-primary" disabled={create.isPending}>
              {create.isPending ? "Creando…" : "Crear Campaña"}
            </button>
          )}
        </div>
      </form>
    </div>
  );
}

/** Whether the error `name` belongs to field `field` of section `key` of the state. */
function touches(name: string, key: keyof WizardState, field: string): boolean {
  const prefix: Record<keyof WizardState, string> = {
    basics: "",
    contacts: "",
    call_settings: "call_settings.",
    voice: "voice_settings.",
    schedule: "",
  };
  if (key === "contacts") {
    if (field === "rows") return name.startsWith("contacts");
    if (field === "file" || field === "mode" || field === "preview") return ["file", "script_variables", "contacts", "column_mapping"].includes(name);
    if (field === "mapping" || field === "previewedMapping") return name === "column_mapping";
    return false;
  }
  if (key === "basics" && field === "script_content") return name === "script_content" || name === "script_variables";
  if (key === "call_settings" && (field === "start" || field === "end" || field === "restrict_hours")) {
    return name.startsWith("call_settings.allowed_hours");
  }
  if (key === "schedule" && ["frequency", "interval", "end_date", "max_runs"].includes(field)) {
    return name === `recurring_config.${field}` || name === "recurring_config";
  }
  return name === `${prefix[key]}${field}`;
}
