/** The dashboard's two charts, drawn with chart.js (only the bar chart's pieces registered, so
 * the bundle carries no other controller). Each canvas is an image with a summary as its
 * label, and its figures are in a table just below (the text alternative). This module is a
 * chunk of its own, loaded by the dashboard page after its figures. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import type { Schemas } from "../api/client";
import { callsPerDaySummary, dayLabel, OUTCOMES, outcomesSummary } from "../lib/dashboard";
import { formatNumber } from "../lib/format";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || "system-ui";
Chart.defaults.color = "#3b4556";
Chart.defaults.locale = "es-CL";

type BarConfig = ChartConfiguration<"bar", number[], string>;

/** A chart.js bar chart on a canvas, updated in place when its data change. */
function BarChart({ config, label, height }: { config: BarConfig; label: string; height: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar", number[], string> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // Created once; the effect below updates the data.
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data = config.data;
    current.update("none");
  }, [config]);

  return (
    <div className="chart-box" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label}>
        {label}
      </canvas>
    </div>
  );
}

export default function DashboardCharts({ data }: { data: Schemas["Dashboard"] }) {
  const days = data.calls_per_day;
  const campaigns = data.outcomes_per_campaign;
  const daysSummary = callsPerDaySummary(days);
  const outcomesText = outcomesSummary(campaigns);

  const perDay: BarConfig = {
    type: "bar",
    data: {
      labels: days.map((d) => dayLabel(d.date)),
      datasets: [{ label: "Llamadas", data: days.map((d) => d.calls), backgroundColor: "#1b5fbf" }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        x: { ticks: { autoSkip: true, maxRotation: 0 } },
      },
    },
  };

  const outcomes: BarConfig = {
    type: "bar",
    data: {
      labels: campaigns.map((c) => c.name),
      datasets: OUTCOMES.map((o) => ({
        label: o.label,
        data: campaigns.map((c) => c.counts[o.key] ?? 0),
        backgroundColor: o.colour,
      })),
    },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: {
        x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        y: {
          stacked: true,
          // Names shortened to fit: a third of the chart's width at most (chart.js clips more).
          ticks: {
            callback(value) {
              const name = this.getLabelForValue(Number(value));
              const max = Math.max(8, Math.floor(this.chart.width / 3 / 7.5));
              return name.length > max ? `${name.slice(0, max - 1)}…` : name;
            },
          },
        },
      },
    },
  };

  return (
    <div className="charts">
      <section className="card chart-card" aria-labelledby="chart-days-title">
        <h2 id="chart-days-title">Llamadas por día</h2>
        <p className="muted small">{daysSummary}</p>
        <BarChart config={perDay} label={daysSummary} height={240} />
        <details className="chart-data">
          <summary>
            Ver datos en tabla<span className="sr-only">: llamadas por día</span>
          </summary>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Llamadas por día</caption>
              <thead>
                <tr>
                  <th scope="col">Día</th>
                  <th scope="col" className="num">
                    Llamadas
                  </th>
                </tr>
              </thead>
              <tbody>
                {days.map((d) => (
                  <tr key={d.date}>
                    <td>{dayLabel(d.date)}</td>
                    <td className="num">{formatNumber(d.calls)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </section>

      <section className="card chart-card" aria-labelledby="chart-outcomes-title">
        <h2 id="chart-outcomes-title">Resultados por campaña</h2>
        <p className="muted small">
          Campañas abiertas y terminadas en los últimos 7 días (hasta 8). {outcomesText}
        </p>
        {campaigns.length === 0 ? (
          <p className="muted">No hay campañas abiertas ni terminadas en los últimos 7 días.</p>
        ) : (
          <>
            <BarChart config={outcomes} label={outcomesText} height={90 + 42 * campaigns.length} />
            <details className="chart-data">
              <summary>
                Ver datos en tabla<span className="sr-only">: resultados por campaña</span>
              </summary>
              <div className="table-wrap">
                <table>
                  <caption className="sr-only">Intentos por resultado y campaña</caption>
                  <thead>
                    <tr>
                      <th scope="col">Campaña</th>
                      {OUTCOMES.map((o) => (
                        <th scope="col" className="num" key={o.key}>
                          {o.label}
                        </th>
                      ))}
                      <th scope="col" className="num">
                        Total
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {campaigns.map((c) => (
                      <tr key={c.batch_id}>
                        <th scope="row">
                          <Link to={`/campaigns/${c.batch_id}`}>{c.name}</Link>
                        </th>
                        {OUTCOMES.map((o) => (
                          <td className="num" key={o.key}>
                            {formatNumber(c.counts[o.key] ?? 0)}
                          </td>
                        ))}
                        <td className="num">{formatNumber(c.total)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          </>
        )}
      </section>
    </div>
  );
}
