// Placeholder: built by the wizard's own change.
export default function CampaignWizard() {
  return <h1>Nueva campaña</h1>;
}
