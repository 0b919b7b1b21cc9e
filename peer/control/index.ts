export { createControlServer, controlCall, controlRequest, NoPeerRunningError, ControlRequestError, ControlAuthError, type ControlServer, type ControlHandler } from './control.ts'
