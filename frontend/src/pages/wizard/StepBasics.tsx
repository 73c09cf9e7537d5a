/** Step 1: the account (staff choose; a client's is its own), name, description, script with
 * its {{variables}} offered and checked as typed. */
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";
import { api, unwrap } from "../../api/client";
import { useSession } from "../../auth";
import { Field, Select, TextArea, TextInput } from "../../components/ui";
import type { StepProps } from "./CampaignWizard";
import { fieldErrors, MAX_DESCRIPTION, MAX_NAME, MAX_SCRIPT, scriptVariables, unknownVariables } from "./model";

export default function StepBasics({ state, update, errors, options }: StepProps) {
  const { me } = useSession();
  const b = state.basics;
  const scriptRef = useRef<HTMLTextAreaElement>(null);
  const accounts = useQuery({
    queryKey: ["accounts", "selector"],
    queryFn: () => unwrap(api.GET("/api/v1/accounts", { params: { query: { page_size: 500 } } })),
    enabled: !!me?.is_staff,
    staleTime: 60_000,
  });
  const known = options.script_variables.map((v) => v.name);
  const custom = state.contacts.mode === "file" ? (state.contacts.preview?.custom_columns ?? []) : [];
  const columnsKnown = state.contacts.mode === "manual" || !!state.contacts.preview;
  const used = scriptVariables(b.script_content);
  const unknown = unknownVariables(b.script_content, known, custom);

  function insert(name: string) {
    const area = scriptRef.current;
    const token = `{{${name}}}`;
    const text = b.script_content;
    const start = area?.selectionStart ?? text.length;
    const end = area?.selectionEnd ?? text.length;
    update("basics", { script_content: text.slice(0, start) + token + text.slice(end) });
    requestAnimationFrame(() => {
      area?.focus();
      area?.setSelectionRange(start + token.length, start + token.length);
    });
  }

  return (
    <>
      {me?.is_staff ? (
        <Select
          label="Cuenta"
          value={b.account_id}
          errors={fieldErrors(errors, "account_id")}
          onChange={(event) => update("basics", { account_id: event.target.value })}
          options={[
            { value: "", label: accounts.isPending ? "Cargando cuentas…" : "Elige una cuenta" },
            ...(accounts.data?.results ?? []).map((a) => ({ value: a.account_id, label: a.account_name })),
          ]}
        />
      ) : (
        <div className={`field${fieldErrors(errors, "account_id").length ? " field-invalid" : ""}`}>
          <span className="field-label">Cuenta</span>
          <p className="static-value">{me?.account_name ?? b.account_id}</p>
          {fieldErrors(errors, "account_id").length > 0 && (
            <small className="error-text" role="alert">
              {fieldErrors(errors, "account_id").join(" ")}
            </small>
          )}
        </div>
      )}
      <TextInput
        label="Nombre de la campaña"
        value={b.name}
        maxLength={MAX_NAME + 50}
        autoComplete="off"
        errors={fieldErrors(errors, "name")}
        hint={`Obligatorio, hasta ${MAX_NAME} caracteres.`}
        onChange={(event) => update("basics", { name: event.target.value })}
      />
      <TextArea
        label="Descripción (opcional)"
        value={b.description}
        rows={2}
        errors={fieldErrors(errors, "description")}
        hint={`Hasta ${MAX_DESCRIPTION.toLocaleString("es-CL")} caracteres.`}
        onChange={(event) => update("basics", { description: event.target.value })}
      />
      <Field
        label="Guion de la llamada"
        errors={fieldErrors(errors, "script_content")}
        hint={
          <>
            Lo que dice el agente al comenzar. Usa variables entre llaves dobles, como {"{{nombre}}"}; hasta{" "}
            {MAX_SCRIPT.toLocaleString("es-CL")} caracteres.
          </>
        }
      >
        {(aria) => (
          <textarea
            {...aria}
            ref={scriptRef}
            rows={6}
            value={b.script_content}
            onChange={(event) => update("basics", { script_content: event.target.value })}
          />
        )}
      </Field>
      <div className="variables" role="group" aria-labelledby="vars-title">
        <p id="vars-title" className="field-label">
          Variables disponibles <span className="muted">(clic para insertar en el guion)</span>
        </p>
        <ul className="chip-list">
          {options.script_variables.map((v) => (
            <li key={v.name}>
              <button
                type="button"
                className={`chip${used.includes(v.name) ? " chip-used" : ""}`}
                title={v.description}
                aria-label={`Insertar {{${v.name}}}: ${v.description}`}
                onClick={() => insert(v.name)}
              >
                {`{{${v.name}}}`}
              </button>
            </li>
          ))}
          {custom.map((name) => (
            <li key={`custom-${name}`}>
              <button
                type="button"
                className={`chip chip-custom${used.includes(name) ? " chip-used" : ""}`}
                aria-label={`Insertar {{${name}}}: columna de tu archivo`}
                onClick={() => insert(name)}
              >
                {`{{${name}}}`}
              </button>
            </li>
          ))}
        </ul>
        <p className="hint">{options.script_custom_variables}</p>
      </div>
      <div aria-live="polite" className="script-check">
        {unknown.length > 0 ? (
          <p className={columnsKnown ? "alert alert-error" : "alert alert-warn"}>
            <strong>Variables desconocidas:</strong> {unknown.map((v) => `{{${v}}}`).join(", ")}.{" "}
            {columnsKnown
              ? state.contacts.mode === "file"
                ? "Tu archivo no trae columnas con ese nombre: el servidor rechazará el guion."
                : "Con contactos escritos a mano solo hay las variables de la lista."
              : "Solo funcionarán si tu archivo trae una columna con ese nombre (lo revisamos en el paso 2)."}
          </p>
        ) : (
          used.length > 0 && <p className="hint">Variables usadas: {used.map((v) => `{{${v}}}`).join(", ")}. Todas conocidas.</p>
        )}
      </div>
    </>
  );
}
