// Placeholder: built by the screen's own change.
export default function Dashboard() {
  return <h1>Dashboard</h1>;
}
