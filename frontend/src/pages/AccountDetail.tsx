// Placeholder: built by the screen's own change.
export default function AccountDetail() {
  return <h1>AccountDetail</h1>;
}
