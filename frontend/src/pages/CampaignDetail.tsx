// Placeholder: built by the screen's own change.
export default function CampaignDetail() {
  return <h1>CampaignDetail</h1>;
}
