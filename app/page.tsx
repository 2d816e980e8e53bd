import { redirect } from "next/navigation";
import { currentSession } from "@/lib/login/current-session.ts";

export default async function Home() {
  redirect((await currentSession()) ? "/account" : "/login");
}
