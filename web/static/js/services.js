// «Новая услуга»: the branch and address are asked only when they can matter — when the
// chosen work may be done without an account and no account is chosen. Without this
// script every field shows and the hints say which to fill.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("[data-order-form]");
  if (!form) { return; }
  var work = form.querySelector("#f-work");
  var account = form.querySelector("#f-account_id");
  var place = form.querySelector("[data-place]");
  if (!work || !place) { return; }
  function update() {
    var option = work.options[work.selectedIndex];
    var needsAccount = option && option.getAttribute("data-needs-account") === "yes";
    var hasAccount = account && account.value !== "";
    // Never hide a field that shows an error: the customer must see what to fix.
    var hasError = place.querySelector(".field--error") !== null;
    place.hidden = !hasError && (needsAccount || hasAccount);
  }
  work.addEventListener("change", update);
  if (account) { account.addEventListener("change", update); }
  update();
});
