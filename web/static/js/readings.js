// ПЕРЕДАЧА ПОКАЗАНИЙ: say at once when a photo is too big (instead of uploading 20 MB to
// hear it), and show that recognising takes a few seconds. The pages work without this.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector(".readings-photo__form");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var wait = form.querySelector(".readings-wait");
  var button = form.querySelector("button[type=submit]");

  function showError(text) {
    var field = input.closest(".field");
    var error = field.querySelector(".field__error");
    if (!error) {
      error = document.createElement("p");
      error.className = "field__error";
      error.id = "e-photo";
      error.setAttribute("data-testid", "error-photo");
      field.insertBefore(error, input);
    }
    error.textContent = text;
    field.classList.add("field--error");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "e-photo");
  }

  form.addEventListener("submit", function (event) {
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    if (file && limit && file.size > limit) {
      event.preventDefault();
      showError("Файл больше 10 МБ: сфотографируйте квитанцию ещё раз или уменьшите фото");
      input.focus();
      return;
    }
    if (file) {
      wait.hidden = false;
      // Disabled after this tick, so the form still sends (a disabled submitter would not).
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
});
