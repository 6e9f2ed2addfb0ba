// Follow the system's light/dark setting (readable at 3 a.m.). Loaded in <head> so the page
// never flashes white; no inline script, so the CSP stays strict.
(function () {
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    document.documentElement.setAttribute("data-bs-theme", media.matches ? "dark" : "light");
  }
  apply();
  if (media.addEventListener) media.addEventListener("change", apply);
})();
