// The e-mail confirmation page: press «Подтвердить адрес» for the person who opened the link.
// A mail scanner that merely fetches the link runs no script and so confirms nothing.
// On "load", not earlier: the header's requests are done, so none of them can answer after
// the form's and overwrite the session cookie that carries the message.
window.addEventListener("load", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    var button = form.querySelector("button");
    if (button) { button.disabled = true; button.textContent = "Подтверждаем…"; }
    form.submit();
  }
});
