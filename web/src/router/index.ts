import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";

import { login } from "../api/session";
import { SCREENS } from "../screens";

const pages: RouteRecordRaw[] = SCREENS.map((screen) =>
  screen.path === "/"
    ? {
        path: "",
        name: "workbench",
        component: () => import("../views/WorkbenchView.vue"),
        meta: { title: screen.title },
      }
    : {
        path: screen.path.slice(1),
        component: () => import("../views/PlaceholderView.vue"),
        meta: { title: screen.title },
      },
);

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
