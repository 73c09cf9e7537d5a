/** A campaign: live status and counters, its debtors (jobs) with their calls, its log, pause /
 * resume / cancel, settings edit and the results download (issue 17). */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError, unwrap } from "../api/client";
import { CampaignSettings, SettingsDialog } from "../components/CampaignSettings";
import { JobsTable } from "../components/CampaignJobs";
import { ConfirmDialog, ErrorMessage, Loading, ProgressBar, StatusBadge, Tabs } from "../components/ui";
import {
  type BatchDetail,
  PRIORITY_LABELS,
  availableActions,
  campaignStatusLabel,
  campaignZone,
  eventLabel,
  exportUrl,
  formatLogTime,
  isFinished,
  progressOf,
  statusPollInterval,
} from "../lib/campaigns";
import { formatDateTime, formatMoney, formatNumber, zoneLabel } from "../lib/format";
import NotFound from "./NotFound";

type Tab = "jobs" | "logs" | "settings";
type Action = "pause" | "resume" | "cancel";

const TABS: { id: Tab; label: string }[] = [
  { id: "jobs", label: "Deudores" },
  { id: "logs", label: "Registro" },
  { id: "settings", label: "Configuración" },
];

const CONFIRM: Record<Action, { title: string; message: string; label: string; danger?: boolean }> = {
  pause: {
    title: "Pausar campaña",
    message: "No se iniciarán nuevas llamadas. Las llamadas en curso terminarán normalmente.",
    label: "Pausar",
  },
  resume: {
    title: "Reanudar campaña",
    message: "La campaña volverá a llamar a los deudores pendientes dentro del horario permitido.",
    label: "Reanudar",
  },
  cancel: {
    title: "Cancelar campaña",
    message:
      "Los deudores pendientes no serán llamados. Las llamadas en curso terminan y su resultado se registra. Esta acción no se puede deshacer.",
    label: "Cancelar campaña",
    danger: true,
  },
};

export default function CampaignDetail() {
  const { batchId = "" } = useParams();
  const client = useQueryClient();
  const [tab, setTab] = useState<Tab>("jobs");
  const [confirm, setConfirm] = useState<Action | null>(null);
  const [editing, setEditing] = useState(false);
  const [acting, setActing] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");

  const path = { batch_id: batchId };
  const detail = useQuery({
    queryKey: ["batch", batchId],
    queryFn: () => unwrap(api.GET("/api/v1/batches/{batch_id}", { params: { path } })),
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
  const status = useQuery({
    queryKey: ["batch", batchId, "status"],
    queryFn: () => unwrap(api.GET("/api/v1/batches/{batch_id}/status", { params: { path } })),
    enabled: detail.isSuccess,
    refetchInterval: (q) => statusPollInterval(q.state.data?.status ?? detail.data?.status),
    refetchIntervalInBackground: false,
  });

  // The status moved (paused elsewhere, completed): the campaign's own data follows.
  const liveStatus = status.data?.status;
  const liveActive = status.data?.is_active;
  useEffect(() => {
    if (!detail.data || liveStatus === undefined) return;
    if (liveStatus !== detail.data.status || liveActive !== detail.data.is_active) {
      void client.invalidateQueries({ queryKey: ["batch", batchId], exact: true });
    }
  }, [liveStatus, liveActive, detail.data, client, batchId]);

  if (detail.isPending) return <Loading />;
  if (detail.isError) {
    if (detail.error instanceof ApiError && detail.error.status === 404) return <NotFound />;
    return <ErrorMessage error={detail.error} />;
  }
  const batch: BatchDetail = detail.data;
  const zone = campaignZone(batch);
  const current = { status: status.data?.status ?? batch.status, is_active: status.data?.is_active ?? batch.is_active };
  const actions = availableActions(current);
  const finished = isFinished(current.status);

  async function run(action: Action) {
    setActing(true);
    setActionError(null);
    try {
      if (action === "cancel") {
        await unwrap(api.POST("/api/v1/batches/{batch_id}/cancel", { params: { path } }));
      } else {
        const updated = await unwrap(
          api.PATCH("/api/v1/batches/{batch_id}", { params: { path }, body: { is_active: action === "resume" } }),
        );
        client.setQueryData(["batch", batchId], updated);
      }
      setNotice(
        action === "pause" ? "Campaña pausada." : action === "resume" ? "Campaña reanudada." : "Campaña cancelada.",
      );
      await client.invalidateQueries({ queryKey: ["batch", batchId] });
    } catch (error) {
      setActionError(error);
    } finally {
      setActing(false);
      setConfirm(null);
    }
  }

  const counts = status.data?.counts;
  const progress = counts
    ? progressOf({ ...counts, total: status.data!.total_jobs })
    : progressOf({ done: batch.completed_jobs, failed: batch.failed_jobs, total: batch.total_jobs });

  return (
    <section className="campaign-detail">
      <nav aria-label="Ruta" className="breadcrumb">
        <Link to="/campaigns">Campañas</Link> <span aria-hidden="true">›</span> <span>{batch.name}</span>
      </nav>
      <div className="page-header">
        <div>
          <h1>{batch.name}</h1>
          <p className="muted small campaign-meta">
            <StatusBadge status={current.status} label={campaignStatusLabel(current.status)} />
            <span>{batch.batch_id}</span>
            <span>Cuenta {batch.account_id}</span>
            <span>Prioridad {PRIORITY_LABELS[batch.priority] ?? batch.priority}</span>
          </p>
        </div>
        <div className="actions">
          {actions.pause && (
            <button type="button" className="btn" onClick={() => setConfirm("pause")}>
              Pausar
            </button>
          )}
          {actions.resume && (
            <button type="button" className="btn btn-primary" onClick={() => setConfirm("resume")}>
              Reanudar
            </button>
          )}
          {actions.edit && (
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              Editar configuración
            </button>
          )}
          {actions.cancel && (
            <button type="button" className="btn btn-danger-outline" onClick={() => setConfirm("cancel")}>
              Cancelar campaña
            </button>
          )}
          <a className="btn" href={exportUrl(batch.batch_id)} download>
            Descargar resultados (.xlsx)
          </a>
        </div>
      </div>

      {notice && (
        <div className="alert alert-ok" role="status">
          {notice}
        </div>
      )}
      <ErrorMessage error={actionError} />

      <div className="card">
        <div className="progress-head">
          <h2 id="progress-title">Progreso</h2>
          <span className="small muted" aria-live="off">
            {finished ? "Campaña terminada" : "Se actualiza cada 5 s"}
          </span>
        </div>
        <ProgressBar value={progress.finished} max={progress.total} label="Progreso de la campaña" />
        <p className="progress-text" data-testid="progress-text">
          {formatNumber(progress.finished)} de {formatNumber(progress.total)} deudores gestionados ·{" "}
          {formatNumber(status.data?.progress_percent ?? progress.percent)} %
        </p>
        {status.isError && <ErrorMessage error={status.error} />}
        <dl className="stats-grid" aria-label="Contadores">
          <Stat label="Pendientes" value={counts?.pending} />
          <Stat label="En llamada" value={counts?.in_progress} />
          <Stat label="Completados" value={counts?.done} testId="count-done" />
          <Stat label="Fallidos" value={counts?.failed} />
          <Stat label="Cancelados" value={counts?.cancelled} />
          <Stat label="Llamadas realizadas" value={status.data?.attempts_made} testId="count-attempts" />
          <Stat label="Contactados" value={status.data?.contacted} />
          <Stat label="Costo a la fecha" text={status.data ? formatMoney(status.data.cost_so_far) : undefined} />
          <Stat
            label="Próximo intento"
            text={status.data ? formatDateTime(status.data.next_attempt_at, zone) : undefined}
          />
        </dl>
        <p className="small muted">Fechas en {zoneLabel(zone)}.</p>
      </div>

      <Tabs tabs={TABS} active={tab} onChange={setTab} label="Secciones de la campaña" />
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0} className="tab-panel">
        {tab === "jobs" && <JobsTable batchId={batchId} zone={zone} live={!finished} />}
        {tab === "logs" && <Logs batchId={batchId} zone={zone} live={!finished} />}
        {tab === "settings" && <CampaignSettings batch={batch} zone={zone} />}
      </div>

      {confirm && (
        <ConfirmDialog
          title={CONFIRM[confirm].title}
          message={CONFIRM[confirm].message}
          confirmLabel={CONFIRM[confirm].label}
          danger={CONFIRM[confirm].danger}
          busy={acting}
          onConfirm={() => void run(confirm)}
          onCancel={() => setConfirm(null)}
        />
      )}
      {editing && (
        <SettingsDialog
          batch={batch}
          onClose={() => setEditing(false)}
          onSaved={(updated) => {
            client.setQueryData(["batch", batchId], updated);
            void client.invalidateQueries({ queryKey: ["batch", batchId] });
            setEditing(false);
            setNotice("Configuración guardada.");
          }}
        />
      )}
    </section>
  );
}

function Stat({ label, value, text, testId }: { label: string; value?: number; text?: string; testId?: string }) {
  return (
    <div className={text === undefined ? "stat" : "stat stat-text"}>
      <dt className="stat-label">{label}</dt>
      <dd className="stat-value" data-testid={testId}>
        {text ?? (value === undefined ? "—" : formatNumber(value))}
      </dd>
    </div>
  );
}

function Logs({ batchId, zone, live }: { batchId: string; zone: string; live: boolean }) {
  const logs = useQuery({
    queryKey: ["batch", batchId, "logs"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/batches/{batch_id}/logs", { params: { path: { batch_id: batchId }, query: { limit: 200 } } })),
    refetchInterval: live ? 5_000 : false,
    refetchIntervalInBackground: false,
  });
  if (logs.isPending) return <Loading />;
  if (logs.isError) return <ErrorMessage error={logs.error} />;
  if (logs.data.logs.length === 0) return <p className="muted">Sin eventos todavía.</p>;
  return (
    <ol className="log-list" aria-label="Registro de la campaña">
      {logs.data.logs.map((entry) => (
        <li key={entry.id} className={`log-entry log-${entry.kind}`}>
          <div className="log-head">
            <strong>{eventLabel(entry.event)}</strong>
            <time dateTime={entry.timestamp} className="muted small">
              {formatLogTime(entry.timestamp, zone)}
            </time>
          </div>
          <p className="log-message">{entry.message}</p>
          <p className="small muted">Por {entry.user === "system" ? "el sistema" : entry.user}</p>
        </li>
      ))}
    </ol>
  );
}
