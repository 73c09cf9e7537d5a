// Placeholder: built by the screen's own change.
export default function Campaigns() {
  return <h1>Campaigns</h1>;
}
