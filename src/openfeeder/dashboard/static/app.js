// openfeeder dashboard: the few behaviours plain HTML lacks. No inline handlers (strict CSP):
// elements say what they want with data- attributes.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const name = button.getAttribute("data-copy");
  const source = document.getElementById(name);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent).then(() => {
    const note = document.querySelector(`[data-copied="${name}"]`);
    if (note) note.hidden = false;
  });
});
