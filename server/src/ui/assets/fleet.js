// HAProxy Fleet UI: the few behaviours plain HTML lacks. No inline handlers (the CSP forbids
// them): elements opt in with data attributes.

// <button data-copy="#id">: copies the text of #id to the clipboard.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.textContent = "Copied";
  });
});

// <form data-confirm="question">: asks before submitting (htmx forms use hx-confirm).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
