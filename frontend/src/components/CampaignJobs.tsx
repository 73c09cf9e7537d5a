/** A campaign's debtors (jobs): filter by status, search by name, RUT or phone, and each
 * one's call attempts in an expandable row. */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";
import { api, unwrap } from "../api/client";
import {
  JOBS_PAGE_SIZE,
  JOB_STATUS_LABELS,
  type Job,
  attemptStatusLabel,
  disconnectionLabel,
  formatDuration,
  formatPhone,
  jobStatusLabel,
  capitalize,
  jobsQuery,
  lastOutcomeLabel,
  outcomeLabel,
} from "../lib/campaigns";
import { formatDateTime, formatMoney, formatNumber } from "../lib/format";
import { useDebounced } from "../lib/hooks";
import { ErrorMessage, Loading, Pager, Select, StatusBadge, TextInput } from "./ui";

const STATUS_OPTIONS = [
  { value: "", label: "Todos" },
  ...Object.entries(JOB_STATUS_LABELS).map(([value, label]) => ({ value, label })),
];

export function JobsTable({ batchId, zone, live }: { batchId: string; zone: string; live: boolean }) {
  const [status, setStatus] = useState("");
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<number | null>(null);
  const settled = useDebounced(search.trim());
  const query = jobsQuery({ page, status, search: settled });
  const jobs = useQuery({
    queryKey: ["batch", batchId, "jobs", query],
    queryFn: () =>
      unwrap(api.GET("/api/v1/batches/{batch_id}/jobs", { params: { path: { batch_id: batchId }, query } })),
    placeholderData: keepPreviousData,
    refetchInterval: live ? 5_000 : false,
    refetchIntervalInBackground: false,
  });

  return (
    <div>
      <form className="toolbar" role="search" aria-label="Filtrar deudores" onSubmit={(e) => e.preventDefault()}>
        <TextInput
          label="Buscar deudor"
          type="search"
          placeholder="Nombre, RUT o teléfono"
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            setPage(1);
          }}
        />
        <Select
          label="Estado del deudor"
          options={STATUS_OPTIONS}
          value={status}
          onChange={(event) => {
            setStatus(event.target.value);
            setPage(1);
          }}
        />
      </form>
      {jobs.isPending ? (
        <Loading />
      ) : jobs.isError ? (
        <ErrorMessage error={jobs.error} />
      ) : jobs.data.results.length === 0 ? (
        <p className="muted">Ningún deudor coincide con el filtro.</p>
      ) : (
        <>
          <p className="muted small" aria-live="polite" data-testid="jobs-count">
            {formatNumber(jobs.data.count)} {jobs.data.count === 1 ? "deudor" : "deudores"}
          </p>
          <div className="table-wrap">
            <table className="stack-table jobs-table">
              <caption className="sr-only">Deudores de la campaña</caption>
              <thead>
                <tr>
                  <th scope="col">Deudor</th>
                  <th scope="col">Teléfonos</th>
                  <th scope="col">Estado</th>
                  <th scope="col" className="num">
                    Intentos
                  </th>
                  <th scope="col">Último resultado</th>
                  <th scope="col" className="num">
                    Deuda
                  </th>
                  <th scope="col">Llamadas</th>
                </tr>
              </thead>
              <tbody>
                {jobs.data.results.map((job) => (
                  <Fragment key={job.id}>
                    <JobRow job={job} zone={zone} open={open === job.id} onToggle={() => setOpen(open === job.id ? null : job.id)} />
                    {open === job.id && (
                      <tr className="attempts-row">
                        <td colSpan={7} id={`attempts-${job.id}`}>
                          <Attempts job={job} zone={zone} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={page} pageSize={JOBS_PAGE_SIZE} count={jobs.data.count} onPage={setPage} />
        </>
      )}
    </div>
  );
}

function JobRow({ job, zone, open, onToggle }: { job: Job; zone: string; open: boolean; onToggle: () => void }) {
  const name = job.contact?.name || "Sin nombre";
  return (
    <tr className={open ? "job-open" : undefined}>
      <td data-label="Deudor">
        <strong>{name}</strong>
        <div className="muted small">RUT {job.rut}</div>
      </td>
      <td data-label="Teléfonos">
        {(job.contact?.phones ?? []).map((phone) => (
          <div key={phone} className="nowrap">
            {formatPhone(phone)}
          </div>
        ))}
      </td>
      <td data-label="Estado">
        <StatusBadge status={job.status} label={jobStatusLabel(job.status)} />
        {job.last_error && <div className="small muted">{capitalize(job.last_error)}</div>}
        {job.status === "pending" && job.next_try_at && (
          <div className="small muted">Próximo: {formatDateTime(job.next_try_at, zone)}</div>
        )}
      </td>
      <td data-label="Intentos" className="num">
        {formatNumber(job.attempts)}
      </td>
      <td data-label="Último resultado">{lastOutcomeLabel(job.last_outcome)}</td>
      <td data-label="Deuda" className="num">
        {formatMoney(job.payload?.debt_amount ?? null)}
      </td>
      <td data-label="Llamadas">
        <button
          type="button"
          className="btn btn-small"
          aria-expanded={open}
          aria-controls={`attempts-${job.id}`}
          onClick={onToggle}
          disabled={job.call_attempts.length === 0}
        >
          {job.call_attempts.length === 0
            ? "Sin llamadas"
            : `${open ? "Ocultar" : "Ver"} ${job.call_attempts.length} ${job.call_attempts.length === 1 ? "llamada" : "llamadas"}`}
          <span className="sr-only"> de {name}</span>
        </button>
      </td>
    </tr>
  );
}

function Attempts({ job, zone }: { job: Job; zone: string }) {
  return (
    <div className="attempts">
      <h3>Llamadas a {job.contact?.name || job.rut}</h3>
      <table className="stack-table attempts-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Teléfono</th>
            <th scope="col">Inicio</th>
            <th scope="col">Estado</th>
            <th scope="col">Resultado</th>
            <th scope="col">Motivo de término</th>
            <th scope="col" className="num">
              Duración
            </th>
            <th scope="col" className="num">
              Costo
            </th>
          </tr>
        </thead>
        <tbody>
          {job.call_attempts.map((attempt) => (
            <tr key={`${attempt.attempt_number}-${attempt.call_id ?? attempt.phone}`}>
              <td data-label="#">{attempt.attempt_number}</td>
              <td data-label="Teléfono" className="nowrap">
                {formatPhone(attempt.phone)}
              </td>
              <td data-label="Inicio">{formatDateTime(attempt.started_at, zone)}</td>
              <td data-label="Estado">{attemptStatusLabel(attempt.status)}</td>
              <td data-label="Resultado">{outcomeLabel(attempt.outcome)}</td>
              <td data-label="Motivo de término">{disconnectionLabel(attempt.disconnection_reason)}</td>
              <td data-label="Duración" className="num">
                {formatDuration(attempt.duration)}
              </td>
              <td data-label="Costo" className="num">
                {formatMoney(attempt.cost)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
