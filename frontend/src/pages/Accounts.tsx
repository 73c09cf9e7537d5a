// Placeholder: built by the screen's own change.
export default function Accounts() {
  return <h1>Accounts</h1>;
}
