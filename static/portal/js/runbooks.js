// Runbooks: a copy button on every code block of a runbook's text (commands such as
// ./infrastructure/scripts/scale.sh are copied, not retyped, in an incident).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".runbook-text pre").forEach((pre) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-outline-secondary copy-code";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy this command");
    button.addEventListener("click", async () => {
      const text = pre.querySelector("code")?.innerText ?? pre.innerText;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(pre);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
    pre.classList.add("has-copy");
    pre.before(button);
  });
});
