// The copy button of a new API token. Without JavaScript the button stays
// hidden and the token is still there to select and copy by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById("copy-status");
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = "Copied.";
    } catch (e) {
      // No clipboard access (an insecure origin): select it instead.
      field.select();
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  });
}
