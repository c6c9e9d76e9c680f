// Start GOV.UK Frontend's components. Loaded as a module, so it needs no inline script.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
