/** Campañas: the account's campaigns, newest first, with live progress (issue 17). */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { useSession } from "../auth";
import { ErrorMessage, Loading, Pager, ProgressBar, Select, StatusBadge, TextInput } from "../components/ui";
import {
  CAMPAIGN_STATUS_LABELS,
  LIST_PAGE_SIZE,
  batchProgress,
  campaignStatusLabel,
  listPollInterval,
  listQuery,
} from "../lib/campaigns";
import { formatDateTime, formatMoney, formatNumber } from "../lib/format";
import { useDebounced } from "../lib/hooks";

const STATUS_OPTIONS = [
  { value: "", label: "Todos los estados" },
  ...Object.entries(CAMPAIGN_STATUS_LABELS).map(([value, label]) => ({ value, label })),
];

export default function Campaigns() {
  const { me, accountId } = useSession();
  const [params, setParams] = useSearchParams();
  const status = params.get("estado") ?? "";
  const page = Number(params.get("pagina") ?? "1") || 1;
  const [search, setSearch] = useState(params.get("buscar") ?? "");
  const settledSearch = useDebounced(search);

  function update(changes: Record<string, string>) {
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(changes)) {
          if (value && !(key === "pagina" && value === "1")) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  }

  // The typed search reaches the URL (and the query) once typing pauses; a new search: page 1.
  useEffect(() => {
    if ((params.get("buscar") ?? "") !== settledSearch.trim()) update({ buscar: settledSearch.trim(), pagina: "1" });
  }, [settledSearch]);

  // Another account chosen in the header: back to its first page.
  const shownAccount = useRef(accountId);
  useEffect(() => {
    if (shownAccount.current === accountId) return;
    shownAccount.current = accountId;
    if (page !== 1) update({ pagina: "1" });
  });

  const query = listQuery({ page, status, search: params.get("buscar") ?? "", accountId });
  const list = useQuery({
    queryKey: ["batches", "list", query],
    queryFn: () => unwrap(api.GET("/api/v1/batches", { params: { query } })),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => listPollInterval(q.state.data?.results),
    refetchIntervalInBackground: false,
  });
  const showAccount = !!me?.is_staff && !accountId;
  const live = listPollInterval(list.data?.results) !== false;

  return (
    <section>
      <div className="page-header">
        <h1>Campañas</h1>
        <Link className="btn btn-primary" to="/campaigns/new">
          + Nueva Campaña
        </Link>
      </div>
      <form className="toolbar campaigns-toolbar" role="search" onSubmit={(event) => event.preventDefault()}>
        <TextInput
          label="Buscar"
          type="search"
          placeholder="Nombre o ID de la campaña"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <Select
          label="Estado"
          options={STATUS_OPTIONS}
          value={status}
          onChange={(event) => update({ estado: event.target.value, pagina: "1" })}
        />
      </form>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} />
      ) : list.data.results.length === 0 ? (
        <div className="card empty">
          <p>
            {status || params.get("buscar")
              ? "Ninguna campaña coincide con la búsqueda."
              : "Aún no hay campañas. Crea la primera con «+ Nueva Campaña»."}
          </p>
        </div>
      ) : (
        <>
          <p className="muted list-summary" aria-live="polite">
            {formatNumber(list.data.count)} {list.data.count === 1 ? "campaña" : "campañas"}
            {live ? " · se actualiza cada 5 s" : ""}
          </p>
          <div className="table-wrap">
            <table className="stack-table campaigns-table">
              <caption className="sr-only">Campañas</caption>
              <thead>
                <tr>
                  <th scope="col">Campaña</th>
                  {showAccount && <th scope="col">Cuenta</th>}
                  <th scope="col">Estado</th>
                  <th scope="col">Progreso</th>
                  <th scope="col" className="num">
                    Completados
                  </th>
                  <th scope="col" className="num">
                    Fallidos
                  </th>
                  <th scope="col" className="num">
                    Costo
                  </th>
                  <th scope="col">Creada</th>
                </tr>
              </thead>
              <tbody>
                {list.data.results.map((batch) => {
                  const progress = batchProgress(batch);
                  return (
                    <tr key={batch.batch_id}>
                      <td data-label="Campaña">
                        <Link to={`/campaigns/${encodeURIComponent(batch.batch_id)}`} className="strong-link">
                          {batch.name}
                        </Link>
                        <div className="muted small">{batch.batch_id}</div>
                      </td>
                      {showAccount && <td data-label="Cuenta">{batch.account_id}</td>}
                      <td data-label="Estado">
                        <StatusBadge status={batch.status} label={campaignStatusLabel(batch.status)} />
                      </td>
                      <td data-label="Progreso" className="progress-cell">
                        <ProgressBar
                          value={progress.finished}
                          max={progress.total}
                          label={`Progreso de ${batch.name}`}
                        />
                        <span className="small muted">
                          {formatNumber(progress.finished)} de {formatNumber(progress.total)} ·{" "}
                          {formatNumber(progress.percent)} %
                        </span>
                      </td>
                      <td data-label="Completados" className="num">
                        {formatNumber(batch.completed_jobs)}
                      </td>
                      <td data-label="Fallidos" className="num">
                        {formatNumber(batch.failed_jobs)}
                      </td>
                      <td data-label="Costo" className="num">
                        {formatMoney(batch.total_cost)}
                      </td>
                      <td data-label="Creada">{formatDateTime(batch.created_at)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager
            page={page}
            pageSize={LIST_PAGE_SIZE}
            count={list.data.count}
            onPage={(next) => update({ pagina: String(next) })}
          />
        </>
      )}
    </section>
  );
}
