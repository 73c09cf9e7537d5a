/** Panel: GET /dashboard for the account chosen (staff: the header's selector, "" = all; a
 * client: its own), refreshed every 30 s. The charts (chart.js) load in their own chunk after
 * the figures, each with its data as a table for screen readers and keyboard users. */
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useSession } from "../auth";
import { ErrorMessage, Loading } from "../components/ui";
import { formatDateTime, formatMoney, formatNumber, formatPercent, zoneLabel } from "../lib/format";

const DashboardCharts = lazy(() => import("../components/DashboardCharts"));

export const REFRESH_MS = 30_000;

export default function Dashboard() {
  const { accountId, me } = useSession();
  const client = useQueryClient();
  const dashboard = useQuery({
    queryKey: ["dashboard", accountId],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/dashboard", {
          params: { query: accountId ? { account_id: accountId } : {} },
        }),
      ),
    refetchInterval: REFRESH_MS,
    placeholderData: keepPreviousData,
  });

  if (dashboard.isPending) return <Loading />;
  if (dashboard.error && !dashboard.data) return <ErrorMessage error={dashboard.error} />;
  const data = dashboard.data as Schemas["Dashboard"];
  const tz = data.time_zone;
  // Staff: the account's name from the header's selector (already loaded by the layout).
  const named = client
    .getQueryData<Schemas["PaginatedAccountList"]>(["accounts", "selector"])
    ?.results.find((account) => account.account_id === data.account_id)?.account_name;
  const scope = data.account_id
    ? me?.is_staff
      ? `Cuenta ${named ?? data.account_id}`
      : (me?.account_name ?? data.account_id)
    : "Todas las cuentas";

  return (
    <section className="dashboard">
      <div className="page-header">
        <div>
          <h1>Panel</h1>
          <p className="muted subtitle">
            {scope} · Actualizado {formatDateTime(data.generated_at, tz)} ({zoneLabel(tz)}) · se
            actualiza cada 30 s
          </p>
        </div>
      </div>
      {dashboard.error && <ErrorMessage error={dashboard.error} />}

      <h2 className="sr-only">Cifras de hoy</h2>
      <div className="grid stats-grid dashboard-figures">
        <Figure label="Llamadas hoy" value={formatNumber(data.calls_today)} />
        <Figure label="En curso ahora" value={formatNumber(data.live_calls)} />
        <Figure
          label="Tasa de contacto hoy"
          value={data.contact_rate_today === null ? "—" : formatPercent(data.contact_rate_today / 100)}
          note={`${formatNumber(data.contacted_today)} contactadas de ${formatNumber(data.dialled_today)} marcadas`}
        />
        <Figure label="Gasto hoy" value={formatMoney(data.spend_today)} />
        <Figure label="Gasto del mes" value={formatMoney(data.spend_month)} />
        <Figure
          label="Campañas en curso"
          value={formatNumber(data.campaigns.running)}
          note={`${formatNumber(data.campaigns.paused)} en pausa`}
        />
      </div>

      <Suspense fallback={<Loading label="Cargando gráficos…" />}>
        <DashboardCharts data={data} />
      </Suspense>

    </section>
  );
}

function Figure({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {note && <div className="stat-note muted small">{note}</div>}
    </div>
  );
}
