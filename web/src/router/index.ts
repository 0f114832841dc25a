import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";

import { login } from "../api/session";
import { SCREENS } from "../screens";

// Each screen's page is loaded when first opened (its own chunk). A page within a screen (a
// member's page) is a query of the screen's own route, so it can be linked and reloaded.
const views = import.meta.glob<{ default: unknown }>("../views/*View.vue");
const placeholder = () => import("../views/PlaceholderView.vue");

const pages: RouteRecordRaw[] = SCREENS.map((screen) => ({
  path: screen.path.slice(1),
  name: screen.path === "/" ? "workbench" : screen.view,
  component: views[`../views/${screen.view}.vue`] ?? placeholder,
  meta: { title: screen.title },
}));

export const router = createRouter({
  history: createWebHistory("/admin/"),
  routes: [
    {
      path: "/login",
      name: "login",
      component: () => import("../views/LoginView.vue"),
      meta: { title: "登录", public: true },
    },
    { path: "/", component: () => import("../layouts/ConsoleLayout.vue"), children: pages },
    { path: "/:rest(.*)*", redirect: "/" },
  ],
});

router.beforeEach((to) => {
  if (!to.meta["public"] && !login.current) {
    return { name: "login", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  }
  return true;
});

router.afterEach((to) => {
  const title = to.meta["title"];
  document.title = typeof title === "string" ? `${title} · 先锋积分控制台` : "先锋积分控制台";
});
