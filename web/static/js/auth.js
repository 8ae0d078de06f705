// Registration and recovery pages: a few lines that help; every page works without them.
(function () {
  "use strict";

  function wait(seconds) {
    return seconds <= 120 ? seconds + "\u00a0с" : Math.ceil(seconds / 60) + "\u00a0мин";
  }

  // «Отправить код ещё раз»: count the cooldown down and hold the button until it ends.
  function countdown(form) {
    var left = parseInt(form.getAttribute("data-resend-in"), 10) || 0;
    var text = form.querySelector(".resend__wait");
    var button = form.querySelector("button[type=submit]");
    if (!text || !button || left <= 0) { return; }
    button.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        text.hidden = true;
        button.disabled = false;
        return;
      }
      text.textContent = "Отправить код ещё раз можно через " + wait(left) + ".";
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.resend[data-resend-in]").forEach(countdown);

    // The e-mail link's page: press «Подтвердить адрес» for the person who opened it
    // (a GET never confirms, because mail scanners open links too).
    var confirm = document.querySelector("form[data-autosubmit]");
    if (confirm && !confirm.dataset.sent) {
      confirm.dataset.sent = "1";
      confirm.requestSubmit ? confirm.requestSubmit() : confirm.submit();
    }
  });

  // A new captcha picture came in: the old answer is useless, type the new one.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "captcha") {
      var answer = document.getElementById("f-captcha");
      if (answer) { answer.value = ""; answer.focus(); }
    }
  });
})();
