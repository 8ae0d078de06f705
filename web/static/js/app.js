// A few lines that make pages nicer; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // Move focus to the error summary, so a keyboard or screen-reader user hears it first.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
});
