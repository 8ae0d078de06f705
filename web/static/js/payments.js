// «Оплата»: the total follows the ticked parts and their amounts; the card's choices hide
// while СБП is chosen; card fields are grouped as printed on the card. The pages work
// without this file.
(function () {
  "use strict";

  function toKopecks(text) {
    var clean = String(text || "").replace(/[\s\u00a0\u202f₽]/g, "").replace(",", ".");
    if (!/^\d+(\.\d{0,2})?$/.test(clean)) { return 0; }
    var parts = clean.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }

  function money(kopecks) {
    var whole = String(Math.floor(kopecks / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    var cents = ("0" + (kopecks % 100)).slice(-2);
    return whole + "," + cents + "\u00a0₽";
  }

  function recount(form) {
    var total = 0;
    form.querySelectorAll(".pay-line").forEach(function (line) {
      var box = line.querySelector("[data-pay-check]");
      var amount = line.querySelector("[data-pay-amount]");
      if (box && amount && box.checked) { total += toKopecks(amount.value); }
    });
    var out = document.getElementById("pay-total");
    if (out) { out.textContent = money(total); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-pay-form]");
    if (form) {
      form.addEventListener("input", function (event) {
        // Typing an amount means paying it: tick its box.
        if (event.target.matches("[data-pay-amount]")) {
          var box = event.target.closest(".pay-line").querySelector("[data-pay-check]");
          if (box && event.target.value.trim() !== "") { box.checked = true; }
        }
        recount(form);
      });
      form.addEventListener("change", function () { recount(form); });
      // One click pays once: the second click of an impatient customer is ignored.
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        window.setTimeout(function () { if (button) { button.disabled = true; } }, 0);
      });
      recount(form);
    }

    // СБП needs no card: the card's choices step aside while it is chosen.
    var methods = document.querySelector("[data-pay-methods]");
    var cardOptions = document.querySelector("[data-pay-card-options]");
    if (methods && cardOptions) {
      var showCardOptions = function () {
        var sbp = methods.querySelector("[data-pay-method][value=sbp]");
        cardOptions.hidden = Boolean(sbp && sbp.checked);
      };
      methods.addEventListener("change", showCardOptions);
      showCardOptions();
    }

    var number = document.querySelector("[data-card-number]");
    if (number) {
      number.addEventListener("input", function () {
        var digits = number.value.replace(/\D/g, "").slice(0, 19);
        number.value = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
      });
    }
    var exp = document.querySelector("[data-card-exp]");
    if (exp) {
      exp.addEventListener("input", function (event) {
        if (event.inputType && event.inputType.indexOf("delete") === 0) { return; }
        var digits = exp.value.replace(/\D/g, "").slice(0, 4);
        exp.value = digits.length > 2 ? digits.slice(0, 2) + "/" + digits.slice(2) : digits;
      });
    }
  });
}());
