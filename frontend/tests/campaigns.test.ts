import { describe, expect, it } from "vitest";
import {
  POLL_MS,
  availableActions,
  batchProgress,
  campaignStatusLabel,
  campaignZone,
  eventLabel,
  exportUrl,
  formatDuration,
  formatLogTime,
  formatPhone,
  isFinished,
  jobStatusLabel,
  capitalize,
  jobsQuery,
  lastOutcomeLabel,
  listPollInterval,
  listQuery,
  outcomeLabel,
  progressOf,
  settingsErrors,
  settingsPatch,
  statusPollInterval,
  type SettingsForm,
} from "../src/lib/campaigns";

describe("polling", () => {
  it("polls a campaign every 5 s until it is finished", () => {
    expect(POLL_MS).toBe(5000);
    expect(statusPollInterval("running")).toBe(5000);
    expect(statusPollInterval("pending")).toBe(5000);
    expect(statusPollInterval("paused")).toBe(5000); // its calls in flight still end
    expect(statusPollInterval(undefined)).toBe(5000);
    expect(statusPollInterval("completed")).toBe(false);
    expect(statusPollInterval("cancelled")).toBe(false);
    expect(isFinished("completed") && isFinished("cancelled") && !isFinished("paused")).toBe(true);
  });

  it("polls the list only while a listed campaign is running or about to start", () => {
    expect(listPollInterval(undefined)).toBe(false);
    expect(listPollInterval([])).toBe(false);
    expect(listPollInterval([{ status: "completed" }, { status: "paused" }])).toBe(false);
    expect(listPollInterval([{ status: "completed" }, { status: "running" }])).toBe(5000);
    expect(listPollInterval([{ status: "pending" }])).toBe(5000);
  });
});

describe("progress", () => {
  it("counts done, failed and cancelled jobs out of the total", () => {
    expect(progressOf({ done: 8, failed: 2, cancelled: 0, total: 42 })).toEqual({
      finished: 10,
      total: 42,
      percent: 23.8,
    });
    expect(progressOf({ done: 3, total: 3 }).percent).toBe(100);
    expect(progressOf({ total: 0 })).toEqual({ finished: 0, total: 0, percent: 0 });
    // Never above 100 %, whatever a stale counter says.
    expect(progressOf({ done: 5, failed: 1, total: 5 }).percent).toBe(100);
  });

  it("reads a list row's completed and failed jobs", () => {
    expect(batchProgress({ completed_jobs: 1, failed_jobs: 1, total_jobs: 4 })).toEqual({
      finished: 2,
      total: 4,
      percent: 50,
    });
  });
});

describe("labels", () => {
  it("says every status in Spanish", () => {
    expect(campaignStatusLabel("running")).toBe("En curso");
    expect(campaignStatusLabel("paused")).toBe("Pausada");
    expect(campaignStatusLabel("pending")).toBe("Programada");
    expect(campaignStatusLabel("mystery")).toBe("mystery");
    expect(jobStatusLabel("in_progress")).toBe("En llamada");
    expect(jobStatusLabel("done")).toBe("Completado");
    expect(outcomeLabel("no_contact")).toBe("Sin contacto");
    expect(outcomeLabel("")).toBe("—");
    expect(eventLabel("batch_paused")).toBe("Pausada");
    expect(lastOutcomeLabel("dial_no_answer")).toBe("No contestó");
    expect(lastOutcomeLabel("contact")).toBe("Contactado");
    expect(lastOutcomeLabel("")).toBe("—");
    expect(capitalize("máximo de intentos")).toBe("Máximo de intentos");
  });

  it("formats phones and durations", () => {
    expect(formatPhone("+56912345678")).toBe("+56 9 1234 5678");
    expect(formatPhone("+5622345678")).toBe("+5622345678");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(65)).toBe("1 min 05 s");
    expect(formatDuration(null)).toBe("—");
    expect(formatLogTime("2026-12-04T19:46:05Z", "America/Santiago")).toBe("04-12-2026 16:46:05");
    expect(formatLogTime("2026-12-04T19:46:05Z", "Pacific/Easter")).toBe("04-12-2026 14:46:05");
  });
});

describe("query strings", () => {
  it("leaves out empty filters and page 1", () => {
    expect(listQuery({ page: 1, status: "", search: "  ", accountId: "" })).toEqual({ page_size: 20 });
    expect(listQuery({ page: 3, status: "running", search: " octubre ", accountId: "retail" })).toEqual({
      page: 3,
      page_size: 20,
      status: "running",
      search: "octubre",
      account_id: "retail",
    });
    expect(jobsQuery({ page: 2, status: "failed", search: "12.345.678-5" })).toEqual({
      page: 2,
      page_size: 25,
      status: "failed",
      search: "12.345.678-5",
    });
    expect(jobsQuery({ page: 1, status: "", search: "" })).toEqual({ page_size: 25 });
  });

  it("builds the export URLs", () => {
    expect(exportUrl("batch-1")).toBe("/api/v1/batches/batch-1/export");
    expect(exportUrl("a b", true)).toBe("/api/v1/batches/a%20b/export/audit");
  });
});

describe("actions", () => {
  it("offers only what the API accepts in each state", () => {
    expect(availableActions({ status: "running", is_active: true })).toEqual({
      pause: true,
      resume: false,
      cancel: true,
      edit: true,
    });
    expect(availableActions({ status: "paused", is_active: false })).toEqual({
      pause: false,
      resume: true,
      cancel: true,
      edit: true,
    });
    expect(availableActions({ status: "completed", is_active: true })).toEqual({
      pause: false,
      resume: false,
      cancel: false,
      edit: false,
    });
    expect(availableActions({ status: "cancelled", is_active: false }).resume).toBe(false);
  });

  it("takes the campaign's time zone, Santiago by default", () => {
    expect(campaignZone({ call_settings: { timezone: "Pacific/Easter" } })).toBe("Pacific/Easter");
    expect(campaignZone({ call_settings: null })).toBe("America/Santiago");
  });
});

describe("settings edit", () => {
  const before: SettingsForm = {
    name: "Cartera",
    description: "",
    priority: "normal",
    max_attempts: "3",
    retry_delay_hours: "24",
    max_call_duration: "600",
    ring_timeout: "60",
    hours_start: "",
    hours_end: "",
    days: [1, 2, 3, 4, 5, 6, 7],
  };

  it("sends only what changed", () => {
    expect(settingsPatch(before, before)).toEqual({});
    expect(settingsPatch(before, { ...before, name: "Otra" })).toEqual({ name: "Otra" });
  });

  it("sends the call settings whole when one changed, hours and days as the API reads them", () => {
    const body = settingsPatch(before, {
      ...before,
      max_attempts: "5",
      retry_delay_hours: "0,5",
      hours_start: "09:00",
      hours_end: "18:00",
      days: [5, 1, 2],
    });
    expect(body.call_settings).toEqual({
      max_attempts: 5,
      retry_delay_hours: "0.5",
      max_call_duration: 600,
      ring_timeout: 60,
      allowed_hours: { start: "09:00", end: "18:00" },
      days_of_week: [1, 2, 5],
      priority: "normal",
    });
    expect(settingsPatch(before, { ...before, ring_timeout: "abc" }).call_settings?.ring_timeout).toBeNaN();
  });

  it("puts the server's dotted errors on their fields", () => {
    const { byField, other } = settingsErrors({
      "call_settings.max_attempts": ["Debe estar entre 1 y 20."],
      "call_settings.allowed_hours.end": ["Debe ser posterior al inicio."],
      "call_settings.timezone": ["Zona desconocida."],
      name: ["Requerido."],
    });
    expect(byField.max_attempts).toEqual(["Debe estar entre 1 y 20."]);
    expect(byField.hours_end).toEqual(["Debe ser posterior al inicio."]);
    expect(byField.name).toEqual(["Requerido."]);
    expect(other).toEqual(["Zona desconocida."]);
  });
});
