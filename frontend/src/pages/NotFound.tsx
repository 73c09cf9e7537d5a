import { Link } from "react-router";

export default function NotFound() {
  return (
    <section className="card">
      <h1>No encontrado</h1>
      <p>La página o el recurso que buscas no existe, o no tienes acceso a él.</p>
      <Link to="/campaigns">Volver a campañas</Link>
    </section>
  );
}
