// Package logtocli signs users of command-line tools and desktop apps in
// with Logto, and keeps their tokens on disk.
//
// LoopbackSignIn runs the native-app flow of RFC 8252: it listens on
// 127.0.0.1 on a free port, opens the system browser at Logto's sign-in
// page, receives the redirect on the loopback listener, and completes the
// sign-in with PKCE, state and nonce through the client's SignIn and
// HandleCallback. Register the redirect URI http://127.0.0.1/callback
// (no port) in a Native application: Logto ignores the port of loopback
// redirect URIs for Native apps, as RFC 8252 section 7.3 asks.
//
// For machines without a browser, the device flow (RFC 8628) is in the
// root package: LogtoClient.StartDeviceSignIn and WaitDeviceSignIn.
//
// FileStorage is a logto.Storage in one JSON file per profile under the
// user's configuration directory, written atomically with mode 0600 and
// locked against other processes of the same tool:
//
//	store, err := logtocli.NewFileStorage(logtocli.FileStorageOptions{App: "mytool"})
//	client, err := logto.NewLogtoClient(cfg, store)
//	err = logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{})
//
// Examples/cli in the repository is a whole tool built on both.
package logtocli
