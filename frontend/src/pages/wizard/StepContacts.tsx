/** Step 2: the debtors. An Excel file previewed by the server (totals, row errors, warnings,
 * merged duplicates, first rows, the detected column mapping the user may correct and
 * preview again), or contacts typed in a small table. */
import { useMutation } from "@tanstack/react-query";
import { ApiError, send } from "../../api/client";
import { useSession } from "../../auth";
import { ErrorMessage, Field } from "../../components/ui";
import { formatMoney, formatNumber } from "../../lib/format";
import type { StepProps } from "./CampaignWizard";
import {
  EMPTY_CONTACT,
  errorsUnder,
  fieldErrors,
  fieldMappingFor,
  headerFields,
  isMerge,
  MAPPABLE_FIELDS,
  sameMapping,
  type ContactRow,
  type Preview,
  type RowIssue,
} from "./model";

export default function StepContacts({ state, update, errors }: StepProps) {
  const { me } = useSession();
  const c = state.contacts;

  const preview = useMutation({
    mutationFn: async ({ file, mapping }: { file: File; mapping: Record<string, string> | null }) => {
      const form = new FormData();
      form.append("file", file);
      if (me?.is_staff || state.basics.account_id) form.append("account_id", state.basics.account_id);
      if (mapping) form.append("column_mapping", JSON.stringify(fieldMappingFor(mapping)));
      return { result: await send<Preview>("/api/v1/batches/excel/preview", { method: "POST", body: form }), mapping };
    },
    onSuccess: ({ result, mapping }) => {
      update("contacts", { preview: result, previewedMapping: mapping, mapping: mapping ?? null });
    },
  });

  function chooseFile(file: File | null) {
    update("contacts", { file, preview: null, mapping: null, previewedMapping: null });
    if (file) preview.mutate({ file, mapping: null });
  }

  const fileErrors = [
    ...fieldErrors(errors, "file"),
    ...(preview.error instanceof ApiError ? preview.error.field("file") : []),
  ];
  const otherPreviewError =
    preview.error && !(preview.error instanceof ApiError && preview.error.field("file").length) ? preview.error : null;
  const mapping = c.mapping ?? (c.preview ? headerFields(c.preview) : {});
  const mappingChanged = !!c.preview && !sameMapping(mapping, c.previewedMapping ?? headerFields(c.preview));

  return (
    <>
      <fieldset>
        <legend>¿Cómo cargas los deudores?</legend>
        <label className="radio">
          <input type="radio" name="contacts-mode" checked={c.mode === "file"} onChange={() => update("contacts", { mode: "file" })} />
          Subir un archivo Excel
        </label>
        <label className="radio">
          <input
            type="radio"
            name="contacts-mode"
            checked={c.mode === "manual"}
            onChange={() => update("contacts", { mode: "manual" })}
          />
          Escribirlos aquí (pocos contactos)
        </label>
      </fieldset>

      {c.mode === "file" ? (
        <>
          <Field
            label="Archivo de deudores (.xlsx, .xls u .ods)"
            errors={fileErrors}
            hint={
              c.file
                ? `${formatNumber(Math.max(1, Math.round(c.file.size / 1024)))} KB. Se revisa sin guardar nada; puedes elegir otro.`
                : "Una fila por deudor: nombre o RUT y al menos un teléfono. Máximo 50 MB."
            }
          >
            {(aria) => (
              // The browser's own file button speaks its UI language: this one speaks Spanish.
              <span className="file-pick">
                <input
                  {...aria}
                  className="visually-hidden"
                  type="file"
                  accept=".xlsx,.xls,.ods,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                  onChange={(event) => chooseFile(event.target.files?.[0] ?? null)}
                />
                <label htmlFor={aria.id} className="btn" aria-hidden="true">
                  {c.file ? "Cambiar archivo…" : "Elegir archivo…"}
                </label>
                <span className="file-name">{c.file ? c.file.name : "Ningún archivo elegido"}</span>
              </span>
            )}
          </Field>
          {preview.isPending && (
            <p className="loading" role="status">
              Revisando el archivo…
            </p>
          )}
          {otherPreviewError && <ErrorMessage error={otherPreviewError} />}
          {c.preview && (
            <PreviewResult
              preview={c.preview}
              mapping={mapping}
              changed={mappingChanged}
              busy={preview.isPending}
              mappingErrors={fieldErrors(errors, "column_mapping")}
              onMapping={(header, field) => update("contacts", { mapping: { ...mapping, [header]: field } })}
              onRepreview={() => c.file && preview.mutate({ file: c.file, mapping })}
            />
          )}
        </>
      ) : (
        <ManualContacts rows={c.rows} errors={errors} onChange={(rows) => update("contacts", { rows })} />
      )}
      {fieldErrors(errors, "script_variables").length > 0 && (
        <div className="alert alert-error" role="alert">
          {fieldErrors(errors, "script_variables").join(" ")}
        </div>
      )}
      {fieldErrors(errors, "contacts").length > 0 && (
        <div className="alert alert-error" role="alert">
          {fieldErrors(errors, "contacts").join(" ")}
        </div>
      )}
    </>
  );
}

function PreviewResult({
  preview,
  mapping,
  changed,
  busy,
  mappingErrors,
  onMapping,
  onRepreview,
}: {
  preview: Preview;
  mapping: Record<string, string>;
  changed: boolean;
  busy: boolean;
  mappingErrors: string[];
  onMapping: (header: string, field: string) => void;
  onRepreview: () => void;
}) {
  const merges = preview.warnings.filter(isMerge);
  const warnings = preview.warnings.filter((w) => !isMerge(w));
  const errorRows = [...new Set(preview.errors.map((e) => e.row))];
  return (
    <section aria-labelledby="preview-title" className="preview">
      <h3 id="preview-title">Vista previa del archivo</h3>
      <dl className="stats-row" data-testid="preview-totals">
        <Stat id="pv-total" label="Filas con datos" value={preview.total_rows} />
        <Stat id="pv-valid" label="Filas válidas" value={preview.valid_rows} />
        <Stat id="pv-invalid" label="Filas con errores (se omiten)" value={preview.invalid_rows} tone={preview.invalid_rows ? "bad" : undefined} />
        <Stat id="pv-merged" label="Duplicados fusionados" value={preview.duplicates_merged} />
        <Stat id="pv-jobs" label="Deudores a llamar" value={preview.total_jobs} tone="good" />
      </dl>
      {!preview.success && (
        <div className="alert alert-error" role="alert">
          Ninguna fila es válida: revisa la asignación de columnas o el archivo.
        </div>
      )}

      {preview.errors.length > 0 && (
        <IssueTable
          id="pv-errors"
          title={`Filas con errores (${errorRows.length}): no se importan`}
          caption="Cada problema con su fila de Excel, columna y valor."
          issues={preview.errors}
          tone="error"
          truncated={preview.errors_truncated}
        />
      )}
      {warnings.length > 0 && (
        <IssueTable
          id="pv-warnings"
          title={`Advertencias (${warnings.length}): se importan igual`}
          issues={warnings}
          tone="warn"
        />
      )}
      {merges.length > 0 && (
        <IssueTable id="pv-merges" title={`Duplicados fusionados (${merges.length})`} issues={merges} tone="info" />
      )}

      <h4>Columnas detectadas</h4>
      <p className="hint">
        Revisa qué dato trae cada columna. Si algo está mal, cámbialo y vuelve a previsualizar. Las columnas
        personalizadas se envían al agente como variables con su nombre.
      </p>
      <div className="table-wrap">
        <table className="mapping-table">
          <thead>
            <tr>
              <th scope="col">Columna del archivo</th>
              <th scope="col">Se usa como</th>
            </tr>
          </thead>
          <tbody>
            {Object.keys(preview.column_mapping).map((header) => (
              <tr key={header}>
                <th scope="row">{header}</th>
                <td>
                  <select
                    aria-label={`Uso de la columna «${header}»`}
                    value={mapping[header] ?? "custom"}
                    onChange={(event) => onMapping(header, event.target.value)}
                  >
                    {MAPPABLE_FIELDS.map((f) => (
                      <option key={f.value} value={f.value}>
                        {f.label}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {mappingErrors.length > 0 && (
        <p className="error-text" role="alert">
          {mappingErrors.join(" ")}
        </p>
      )}
      {(changed || mappingErrors.length > 0) && (
        <button type="button" className="btn btn-primary" onClick={onRepreview} disabled={busy}>
          Volver a previsualizar con estas columnas
        </button>
      )}

      <h4 id="pv-first-title">Primeros deudores</h4>
      <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="pv-first-title">
        <table>
          <caption className="visually-hidden">Los primeros {Math.min(10, preview.contacts_preview.length)} deudores tal como se importarán</caption>
          <thead>
            <tr>
              <th scope="col" className="num">Fila</th>
              <th scope="col">Nombre</th>
              <th scope="col">RUT</th>
              <th scope="col">Teléfonos</th>
              <th scope="col" className="num">Deuda</th>
              <th scope="col">Vencimiento</th>
            </tr>
          </thead>
          <tbody>
            {preview.contacts_preview.slice(0, 10).map((contact) => (
              <tr key={contact.row}>
                <td className="num">{contact.row}</td>
                <td>{contact.name || "—"}</td>
                <td className="nowrap">{contact.rut || "—"}</td>
                <td>{contact.phones.join(", ")}</td>
                <td className="num">{contact.debt_amount ? formatMoney(contact.debt_amount) : "—"}</td>
                <td className="nowrap">{isoDate(contact.due_date)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {preview.total_jobs > 10 && (
        <p className="hint">Se muestran 10 de {formatNumber(preview.total_jobs)} deudores.</p>
      )}
    </section>
  );
}

/** "2025-11-29" → "29-11-2025" (a calendar date: no time zone to convert). */
function isoDate(value: string | null): string {
  const match = value ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  return match ? `${match[3]}-${match[2]}-${match[1]}` : (value ?? "—");
}

function Stat({ id, label, value, tone }: { id: string; label: string; value: number; tone?: "good" | "bad" }) {
  return (
    <div className={`stat stat-small${tone ? ` stat-${tone}` : ""}`}>
      <dt className="stat-label">{label}</dt>
      <dd className="stat-value" id={id}>
        {formatNumber(value)}
      </dd>
    </div>
  );
}

function IssueTable({
  id,
  title,
  caption,
  issues,
  tone,
  truncated = false,
}: {
  id: string;
  title: string;
  caption?: string;
  issues: RowIssue[];
  tone: "error" | "warn" | "info";
  truncated?: boolean;
}) {
  return (
    <section className={`issues issues-${tone}`} aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>{title}</h4>
      {caption && <p className="hint">{caption}</p>}
      <div className="table-wrap" tabIndex={0} role="region" aria-labelledby={`${id}-title`}>
        <table id={id}>
          <thead>
            <tr>
              <th scope="col" className="num">Fila</th>
              <th scope="col">Columna</th>
              <th scope="col">Valor</th>
              <th scope="col">Problema</th>
            </tr>
          </thead>
          <tbody>
            {issues.map((issue, i) => (
              <tr key={`${issue.row}-${issue.column}-${i}`} className="issue-row">
                <td className="num" data-label="Fila">
                  {issue.row ?? "—"}
                </td>
                <td data-label="Columna">{issue.column}</td>
                <td data-label="Valor">
                  <code>{issue.value || "(vacío)"}</code>
                </td>
                <td data-label="Problema">{issue.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {truncated && <p className="hint">Hay más problemas de los que se muestran.</p>}
    </section>
  );
}

const COLUMNS: { key: keyof ContactRow; label: string; placeholder: string; required?: boolean }[] = [
  { key: "name", label: "Nombre", placeholder: "Juan Pérez" },
  { key: "rut", label: "RUT", placeholder: "12.345.678-5", required: true },
  { key: "phone", label: "Teléfono", placeholder: "+56 9 1234 5678", required: true },
  { key: "debt_amount", label: "Monto deuda", placeholder: "150000" },
  { key: "due_date", label: "Vencimiento", placeholder: "dd/mm/aaaa" },
];

/** The server's names for a typed contact's cell: contacts[i].phones[0] is the phone. */
function cellErrors(errors: Record<string, string[]>, index: number, key: keyof ContactRow): string[] {
  const base = `contacts[${index}]`;
  if (key === "phone") return errorsUnder(errors, `${base}.phones`);
  if (key === "rut") return [...errorsUnder(errors, `${base}.rut`), ...errorsUnder(errors, `${base}.dni`)];
  return errorsUnder(errors, `${base}.${key}`);
}

function ManualContacts({
  rows,
  errors,
  onChange,
}: {
  rows: ContactRow[];
  errors: Record<string, string[]>;
  onChange: (rows: ContactRow[]) => void;
}) {
  const set = (index: number, key: keyof ContactRow, value: string) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, [key]: value } : row)));
  return (
    <section aria-labelledby="manual-title">
      <h3 id="manual-title">Deudores</h3>
      <p className="hint">RUT y teléfono son obligatorios. Se revisan al crear la campaña: si alguno está mal, se marca aquí.</p>
      <div className="manual-contacts">
        {rows.map((row, index) => (
          <fieldset key={index} className="contact-row">
            <legend>Contacto {index + 1}</legend>
            {COLUMNS.map((col) => {
              const cell = cellErrors(errors, index, col.key);
              return (
                <Field key={col.key} label={`${col.label}${col.required ? " *" : ""}`} errors={cell}>
                  {(aria) => (
                    <input
                      {...aria}
                      value={row[col.key]}
                      placeholder={col.placeholder}
                      aria-required={col.required || undefined}
                      onChange={(event) => set(index, col.key, event.target.value)}
                    />
                  )}
                </Field>
              );
            })}
            {rows.length > 1 && (
              <button
                type="button"
                className="btn btn-small"
                onClick={() => onChange(rows.filter((_, i) => i !== index))}
                aria-label={`Quitar el contacto ${index + 1}`}
              >
                Quitar
              </button>
            )}
          </fieldset>
        ))}
      </div>
      <button type="button" className="btn" onClick={() => onChange([...rows, { ...EMPTY_CONTACT }])}>
        + Agregar contacto
      </button>
    </section>
  );
}
