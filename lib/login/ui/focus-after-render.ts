"use client";

import { useEffect, useState } from "react";

type Target = () => HTMLElement | null | undefined;

/**
 * Focus for a field that the render under way enables again (a disabled field cannot take
 * focus): the returned function asks for `target` to be focused once React has committed the
 * render that the same handler's state updates cause. The next animation frame is not enough: on
 * a busy machine it can come before that render, and the focus is silently lost.
 */
export function useFocusAfterRender(): (target: Target) => void {
  const [request, setRequest] = useState<{ target: Target }>();
  useEffect(() => request?.target()?.focus(), [request]);
  return (target) => setRequest({ target });
}
