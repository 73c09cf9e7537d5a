import { describe, expect, it } from "vitest";
import { ApiError, parseErrorBody } from "../src/api/client";

describe("API error mapping", () => {
  it("keeps dotted field names and their messages", () => {
    const error = new ApiError(400, {
      "settings.timezone": ["Zona horaria desconocida."],
      "contacts[3].rut": ["RUT inválido."],
    });
    expect(error.status).toBe(400);
    expect(error.field("settings.timezone")).toEqual(["Zona horaria desconocida."]);
    expect(error.under("settings")).toEqual({ timezone: ["Zona horaria desconocida."] });
    expect(error.detail).toBeNull();
    expect(error.message).toBe("Zona horaria desconocida.");
  });

  it("takes detail and non_field_errors as the general message", () => {
    expect(parseErrorBody(403, { detail: "No autorizado." })).toEqual({ fields: {}, detail: "No autorizado." });
    expect(parseErrorBody(400, { non_field_errors: ["Rango inválido."] }).detail).toBe("Rango inválido.");
  });

  it("gives a plain Spanish message when the body says nothing", () => {
    expect(parseErrorBody(500, "<html>Server Error</html>").detail).toMatch(/servidor/);
    expect(parseErrorBody(429, null).detail).toMatch(/Demasiados intentos/);
    expect(new ApiError(0, null).detail).toMatch(/conexión/);
  });
});
