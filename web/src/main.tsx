// The entry: start the landing page's API requests at once, then load the app (React and the
// charts are the bulk of the code) while they are under way.
import { startEarly } from "./early";
import "./styles.css";

startEarly(sessionStorage.getItem("rex.token"), window.location);

import("./mount").then(({ mount }) => mount(document.getElementById("root")!));
