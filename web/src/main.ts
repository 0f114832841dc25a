import { createApp, watch } from "vue";

import App from "./App.vue";
import { login } from "./api/session";
import { router } from "./router";
import "./style.css";

// Signed out (the login ended, or was ended from the phone): back to the sign-in page.
watch(
  () => login.current,
  (current) => {
    if (!current && router.currentRoute.value.name !== "login") void router.push({ name: "login" });
  },
);

createApp(App).use(router).mount("#app");
