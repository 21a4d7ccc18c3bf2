package logtohttp

import "github.com/gologto/logto"

// The sign-in choices the sign-in handler's query may make (see
// Handler.SignIn): only the values Logto knows are taken, anything else in
// the query is ignored.
var (
	queryInteractionModes = []logto.InteractionMode{logto.InteractionModeSignIn, logto.InteractionModeSignUp}
	queryFirstScreens     = []logto.FirstScreen{
		logto.FirstScreenSignIn, logto.FirstScreenRegister, logto.FirstScreenResetPassword,
		logto.FirstScreenIdentifierSignIn, logto.FirstScreenIdentifierRegister, logto.FirstScreenSingleSignOn,
	}
	queryIdentifiers         = []logto.Identifier{logto.IdentifierUsername, logto.IdentifierEmail, logto.IdentifierPhone}
	queryDirectSignInMethods = []logto.DirectSignInMethod{logto.DirectSignInSocial, logto.DirectSignInSSO}
)
