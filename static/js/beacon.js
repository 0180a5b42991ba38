// Beacon's only script of its own; pages carry no inline scripts (CSP, issue #10).
document.addEventListener("DOMContentLoaded", function () {
  // Buttons that ask for confirmation: <button data-confirm="...">.
  document.body.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // Copy buttons: <button data-copy-target="#id">.
  document.body.addEventListener("click", function (event) {
    var target = event.target.closest("[data-copy-target]");
    if (!target) return;
    var source = document.querySelector(target.getAttribute("data-copy-target"));
    if (source && navigator.clipboard) navigator.clipboard.writeText(source.innerText);
  });
});
